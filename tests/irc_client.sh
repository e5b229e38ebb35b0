# irc_client.sh - what the tests of real IRC clients (ii.sh, weechat.sh) share; sourced, not
# run. The caller defines fail MESSAGE and dir (its temporary directory), and kills
# $chatd_pid and $cat_pid on exit.
# shellcheck shell=bash
# The variables it sets are the caller's, and dir is the caller's (SC2034, SC2154):
# shellcheck disable=SC2034,SC2154

# waits until file $1 has a line matching the extended regex $2 (10 s)
wait_for() {
	wait_for_count "$1" "$2" 1
}

# waits until file $1 has $3 lines matching the extended regex $2 (10 s)
wait_for_count() {
	for _ in $(seq 200); do
		[ -f "$1" ] && [ "$(grep -cE -- "$2" "$1")" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

# starts bin/chatd on free loopback ports (IRC included): sets chatd_pid, port and irc
start_chatd() {
	bin/chatd --bind 127.0.0.1 --port 0 --irc-port 0 --admin off --workers 2 >/dev/null \
		2>"$dir/chatd.log" &
	chatd_pid=$!
	wait_for "$dir/chatd.log" "listening on .* port [0-9]+:" || fail "chatd did not start"
	port=$(sed -n 's/.*listening on .* port \([0-9]*\): .*/\1/p' "$dir/chatd.log" | head -n1)
	irc=$(sed -n 's/.*IRC clients on .* port \([0-9]*\) .*/\1/p' "$dir/chatd.log" | head -n1)
}

# the line user: bash's /dev/tcp on fd 3, its lines into $dir/nc.out, named lineuser (say
# TEXT sends a line); sets cat_pid
open_line_user() {
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	cat <&3 >"$dir/nc.out" &
	cat_pid=$!
	wait_for "$dir/nc.out" '^\* Welcome, ' || fail "the line user was not welcomed"
	say "/nick lineuser"
	wait_for "$dir/nc.out" 'is now known as lineuser\.$' || fail "the line user's nick"
}

say() { printf '%s\n' "$1" >&3; }
