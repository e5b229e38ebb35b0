#!/usr/bin/env bash
# ii.sh - a real IRC client from Debian, ii (the FIFO and file based one), in chatd's rooms:
# it registers on --irc-port, joins #lobby and #iiroom, chats both ways with a line (TCP)
# user, changes its nick, and quits; the line user sees each of these as chatd's own lines.
# Starts bin/chatd on free loopback ports and stops it, and ii, by PID, even on failure.
# Needs ii (Debian: ii): installed when root, otherwise skipped with the command to run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/irc_client.sh
. tests/irc_client.sh

if ! command -v ii >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		sh scripts/install-deps.sh ii
	else
		echo "ii.sh: SKIPPED: needs ii (sudo apt-get install -y ii)"
		exit 0
	fi
fi

dir=$(mktemp -d /tmp/chatd-ii-XXXXXX)
chatd_pid='' ii_pid='' cat_pid=''
cleanup() {
	for pid in $ii_pid $cat_pid $chatd_pid; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "[FAIL] ii::$1"
	echo "--- line user saw:"
	cat "$dir/nc.out" 2>/dev/null || true
	echo "--- ii's files:"
	find "$dir/irc" -name out -exec sh -c 'echo "$1:"; cat "$1"' _ {} \; 2>/dev/null || true
	exit 1
}

start_chatd
open_line_user

ii -s 127.0.0.1 -p "$irc" -n iiuser -i "$dir/irc" -f "ii test" >/dev/null 2>&1 &
ii_pid=$!
server="$dir/irc/127.0.0.1"
wait_for "$server/out" "iiuser" || fail "registers (no welcome in $server/out)"
wait_for "$dir/nc.out" '^\* iiuser has entered\.$' || fail "the line user sees ii enter the lobby"
echo "[PASS] ii::registers_and_enters_the_lobby"

# ii joins the channel it is already in, so that it gets the channel's files
printf '/j #lobby\n' >"$server/in"
for _ in $(seq 100); do [ -p "$server/#lobby/in" ] && break; sleep 0.05; done
[ -p "$server/#lobby/in" ] || fail "joins #lobby (no $server/#lobby/in)"
say "hello ii"
wait_for "$server/#lobby/out" "<lineuser> hello ii" || fail "gets a line user's line"
printf 'hello line user\n' >"$server/#lobby/in"
wait_for "$dir/nc.out" '^iiuser:hello line user$' || fail "its line reaches the line user"
echo "[PASS] ii::chats_with_a_line_user_both_ways"

printf '/n iinew\n' >"$server/in"
wait_for "$dir/nc.out" '^\* iiuser is now known as iinew\.$' || fail "changes its nick"
echo "[PASS] ii::changes_its_nick"

say "/join iiroom"
wait_for "$dir/nc.out" '^\* You are now in iiroom\.' || fail "the line user's /join"
printf '/j #iiroom\n' >"$server/in"
for _ in $(seq 100); do [ -p "$server/#iiroom/in" ] && break; sleep 0.05; done
[ -p "$server/#iiroom/in" ] || fail "joins #iiroom"
wait_for "$dir/nc.out" '^\* iinew has entered\.$' || fail "the line user sees it enter #iiroom"
printf 'in the room\n' >"$server/#iiroom/in"
wait_for "$dir/nc.out" '^iinew:in the room$' || fail "speaks in #iiroom"
echo "[PASS] ii::joins_another_room_and_speaks_there"

printf '/q bye from ii\n' >"$server/in"
wait_for "$dir/nc.out" '^\* iinew has left \("bye from ii"\)\.$' || fail "quits with a reason"
echo "[PASS] ii::quits_with_a_reason"
echo "[====] ii: 5 passed"
