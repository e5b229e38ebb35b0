#!/usr/bin/env bash
# weechat.sh - WeeChat (Debian's weechat-headless: the real client, without its terminal UI)
# in chatd's rooms, as the README tells a WeeChat user to connect: `/server add chatd
# localhost/PORT`, `/connect chatd`. It registers, is in #lobby, chats both ways with a line
# (TCP) user, exchanges private messages, joins a second channel and speaks in both, changes
# its nick, and quits. WeeChat is driven through its FIFO plugin and read back through its
# logger plugin's files (flushed at once).
# Starts bin/chatd on free loopback ports and stops it, and WeeChat, by PID, even on failure.
# Needs weechat-headless: installed when root, otherwise skipped with the command to run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/irc_client.sh
. tests/irc_client.sh

if ! command -v weechat-headless >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		sh scripts/install-deps.sh weechat
	else
		echo "weechat.sh: SKIPPED: needs WeeChat (sudo apt-get install -y weechat-headless)"
		exit 0
	fi
fi

dir=$(mktemp -d /tmp/chatd-weechat-XXXXXX)
chatd_pid='' wc_pid='' cat_pid=''
cleanup() {
	for pid in $wc_pid $cat_pid $chatd_pid; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

logs="$dir/wc/logs"
fail() {
	echo "[FAIL] weechat::$1"
	echo "--- line user saw:"
	cat "$dir/nc.out" 2>/dev/null || true
	echo "--- WeeChat's logs:"
	find "$logs" -name '*.weechatlog' -exec sh -c 'echo "$1:"; cat "$1"' _ {} \; 2>/dev/null ||
		true
	exit 1
}

start_chatd
open_line_user

# WeeChat with only the plugins it needs, its home in $dir; the FIFO takes commands
fifo="$dir/fifo"
weechat-headless -d "$dir/wc" -P irc,logger,fifo -s -r "/set logger.file.flush_delay 0;\
/set fifo.file.enabled on;/set fifo.file.path \"$fifo\";\
/server add chatd 127.0.0.1/$irc -notls -nicks=wcuser -username=wcuser;/connect chatd" \
	>"$dir/wc.out" 2>&1 &
wc_pid=$!
server="$logs/irc.server.chatd.weechatlog"
lobby="$logs/irc.chatd.#lobby.weechatlog"
wait_for "$server" "Welcome to the chatd IRC network wcuser" || fail "registers"
wait_for "$lobby" "wcuser .* has joined #lobby" || fail "is in #lobby"
wait_for "$dir/nc.out" '^\* wcuser has entered\.$' || fail "the line user sees WeeChat enter"
echo "[PASS] weechat::registers_and_is_in_the_lobby"

# a command to WeeChat: in buffer $1 (irc.server.chatd, irc.chatd.#lobby...), text $2
wc() { printf '%s *%s\n' "$1" "$2" >"$fifo"; }
[ -p "$fifo" ] || fail "no FIFO at $fifo"
say "hello weechat"
wait_for "$lobby" $'\tlineuser\thello weechat$' || fail "gets a line user's line"
wc irc.chatd.#lobby "hello line user"
wait_for "$dir/nc.out" '^wcuser:hello line user$' || fail "its line reaches the line user"
wc irc.chatd.#lobby "/me waves"
wait_for "$dir/nc.out" '^\+ wcuser waves$' || fail "its /me reaches the line user"
echo "[PASS] weechat::chats_with_a_line_user_both_ways"

say "/msg wcuser psst"
wait_for "$logs/irc.chatd.lineuser.weechatlog" $'\tlineuser\tpsst$' ||
	fail "gets a private message in a buffer of its own"
wc irc.chatd.lineuser "psst back"
wait_for "$dir/nc.out" '^\(private\) wcuser:psst back$' || fail "answers it"
echo "[PASS] weechat::private_messages_both_ways"

# a second room, the lobby kept: lineuser moves to wcroom, a second line user stays behind
exec 4<>"/dev/tcp/127.0.0.1/$port"
cat <&4 >"$dir/nc2.out" &
cat_pid="$cat_pid $!"
wait_for "$dir/nc2.out" '^\* Welcome, ' || fail "the second line user was not welcomed"
printf '/nick stayer\n' >&4
say "/join wcroom"
wait_for "$dir/nc.out" '^\* You are now in wcroom\.' || fail "the line user's /join"
wc irc.server.chatd "/join #wcroom"
wait_for_count "$dir/nc.out" '^\* wcuser has entered\.$' 2 || fail "the line user sees it enter wcroom"
wc irc.chatd.#wcroom "in the room"
wait_for "$dir/nc.out" '^wcuser:in the room$' || fail "speaks in #wcroom"
wc irc.chatd.#lobby "still in the lobby"
wait_for "$dir/nc2.out" '^wcuser:still in the lobby$' || fail "speaks in #lobby, still in it"
grep -q 'still in the lobby' "$dir/nc.out" && fail "its #lobby line reached wcroom"
printf 'hello from the lobby\n' >&4
wait_for "$lobby" $'\tstayer\thello from the lobby$' || fail "hears #lobby while in #wcroom"
echo "[PASS] weechat::is_in_two_channels_at_once"

wc irc.server.chatd "/nick wcnew"
wait_for "$dir/nc.out" '^\* wcuser is now known as wcnew\.$' || fail "changes its nick"
wait_for "$lobby" "You are now known as wcnew" || fail "WeeChat shows its new nick"
echo "[PASS] weechat::changes_its_nick"

wc irc.server.chatd "/quit bye from weechat"
wait_for "$dir/nc.out" '^\* wcnew has left \("bye from weechat"\)\.$' || fail "quits with a reason"
echo "[PASS] weechat::quits_with_a_reason"
echo "[====] weechat: 6 passed"
