#!/usr/bin/env bash
# soak.sh - chatd under misbehaving clients while well-behaved ones chat. Loopback only,
# bounded in time, stops every process it started (by PID), also on failure.
#
#   scripts/soak.sh              10 minutes of soak (by hand; docs/reliability.md's figures)
#   scripts/soak.sh --quick      60 s of soak (CI)
#   options: --duration SECONDS, --report FILE (Markdown tables for docs/reliability.md)
#
# 1. soak: chatd --workers 2. bench/flood keeps 300 users chatting in the lobby (30 senders,
#    50 lines/s each, 200-byte lines) and checks every delivery, while bench/chaos runs every
#    kind of misbehaving client at once (see bench/chaos.c). A warm-up round first, so the
#    baseline includes the allocator's steady state and tables grown to their peak. Passes
#    when: flood lost nothing, chaos saw every case handled by its rule, the server's open fds
#    are back to the baseline exactly, its live heap (chatd_heap_bytes, mallinfo2) within
#    HEAP_SLACK_KIB and its RSS within RSS_SLACK_KIB of the baseline, and no event-loop
#    iteration took longer than MAX_ITER_MS (chatd_loop_iteration_max_seconds).
# 2. fd exhaustion, twice: chatd under `ulimit -n 256`, once with the default --max-clients
#    (derived from the limit: the excess is told "server full") and once with --max-clients far
#    above it (accept hits EMFILE and pauses). 50 flood users chat throughout with zero loss;
#    bench/chaos exhaust opens 300 more connections, keeps knocking while full (CPU may rise
#    by at most 30% of a core over the chatting alone: a busy loop would take a whole core)
#    and checks that freed places are taken again.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=600
report=
MAX_ITER_MS=${MAX_ITER_MS:-100}
RSS_SLACK_KIB=${RSS_SLACK_KIB:-8192}
HEAP_SLACK_KIB=${HEAP_SLACK_KIB:-256}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) duration=60 ;;
	--duration) duration=$2; shift ;;
	--report) report=$2; shift ;;
	-h | --help) sed -n 2,22p "$0"; exit 0 ;;
	*) echo "soak: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

make -s bin/chatd bench/flood bench/chaos
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
failed=0
fail() { echo "soak: FAIL: $*"; failed=1; }
say() { echo "soak: $*"; }

# start_chatd NAME NOFILE ARGS... : sets pid, port, admin
start_chatd() {
	local name=$1 nofile=$2
	shift 2
	local log=$work/$name.log
	if [ -n "$nofile" ]; then
		(ulimit -n "$nofile" && exec ./bin/chatd --bind 127.0.0.1 --port 0 --irc-port off \
			--admin 127.0.0.1:0 --log-level info "$@") 2>"$log" &
	else
		./bin/chatd --bind 127.0.0.1 --port 0 --irc-port off --admin 127.0.0.1:0 --log-level info "$@" \
			2>"$log" &
	fi
	pid=$!
	pids+=("$pid")
	port= admin=
	for _ in $(seq 100); do
		port=$(sed -n 's/.*listening on .* port \([0-9]*\): .*/\1/p' "$log" | head -n1)
		admin=$(sed -n 's/.*admin listener on .* port \([0-9]*\): .*/\1/p' "$log" | head -n1)
		[ -n "$port" ] && [ -n "$admin" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || { echo "soak: chatd did not start"; cat "$log"; exit 1; }
	chatd_log=$log
}

# reap PID: wait for a process we started and forget it, so the cleanup never signals a
# PID the system may since have given to somebody else's process
reap() {
	wait "$1" 2>/dev/null || true
	local keep=() p
	for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	pids=("${keep[@]}")
}

stop_chatd() {
	kill "$pid" 2>/dev/null || true
	reap "$pid"
}

metrics() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$admin"
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >&"$fd"
	cat <&"$fd"
	exec {fd}>&-
}
# msum NAME / mmax NAME: sum or maximum over a metric's series
msum() { metrics | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d\n", s }'; }
mmax() { metrics | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { if ($2 > x) x = $2 } END { printf "%.6f\n", x }'; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }
nfds() { ls "/proc/$pid/fd" | wc -l; }

wait_users() { # wait until at least N users are in
	for _ in $(seq 600); do
		[ "$(msum chatd_users)" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "users never reached $1"
	return 1
}
wait_idle() { # no connection left, then the once-a-second trim pass
	for _ in $(seq 600); do
		[ "$(msum chatd_connections)" -eq 0 ] && { sleep 2.5; return 0; }
		sleep 0.1
	done
	fail "connections did not drain: $(msum chatd_connections) left"
}
wait_ready() {
	for _ in $(seq 600); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	fail "flood never started sending"
}

flood_summary() { # flood --json on stdin -> one line; exit 1 unless lossless
	python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
m = r["messages"]
print("%d users: %d lines sent, %d deliveries expected, %d delivered, %d lost, %d duplicated, %d out of order, %d unexpected disconnects, latency p99 %.1f ms" % (
    r["clients"], m["sent"], m["expected"], m["delivered"], m["lost"], m["duplicated"],
    m["out_of_order"], r["unexpected_disconnects"], m["latency_ms"]["p99"]))
ok = (m["lost"] == 0 and m["duplicated"] == 0 and m["out_of_order"] == 0 and
      r["unexpected_disconnects"] == 0 and m["expected"] > 0 and r["connect"]["failed"] == 0)
sys.exit(0 if ok else 1)'
}

FLOOD_ARGS=(-c 300 -S 30 -r 50 -s 200)

# ---- 1. soak ---------------------------------------------------------------------------------
start_chatd soak "" --workers 2
say "chatd pid $pid port $port (admin $admin); soak for ${duration}s"
rss_start=$(rss_kib) fds_start=$(nfds)

# warm-up: one short round of everything
./bench/flood --port "$port" "${FLOOD_ARGS[@]}" -d 12 --json \
	--ready-file "$work/warm.ready" >"$work/warm.json" &
fpid=$!
pids+=("$fpid")
wait_ready "$work/warm.ready"
./bench/chaos soak --port "$port" -d 10 >"$work/warm.chaos" || fail "warm-up chaos: $(cat "$work/warm.chaos")"
reap "$fpid"
wait_idle
rss_base=$(rss_kib) fds_base=$(nfds) heap_base=$(($(msum chatd_heap_bytes) / 1024))
say "baseline after warm-up: heap $heap_base KiB, RSS $rss_base KiB, $fds_base fds (at start: RSS $rss_start KiB, $fds_start fds)"

./bench/flood --port "$port" "${FLOOD_ARGS[@]}" -d $((duration + 4)) --json \
	--server-pid "$pid" --ready-file "$work/main.ready" >"$work/main.json" &
fpid=$!
pids+=("$fpid")
wait_ready "$work/main.ready"
chaos_rc=0
./bench/chaos soak --port "$port" -d "$duration" --markdown >"$work/chaos.md" 2>"$work/chaos.err" || chaos_rc=$?
reap "$fpid" # its verdict is in its JSON, read below
cat "$work/chaos.md"
cat "$work/chaos.err"
[ "$chaos_rc" -eq 0 ] || fail "bench/chaos: a misbehaving client was not handled by its rule"
flood_line=$(flood_summary <"$work/main.json") || fail "flood: $flood_line"
say "well-behaved: $flood_line"
wait_idle
rss_after=$(rss_kib) fds_after=$(nfds) heap_after=$(($(msum chatd_heap_bytes) / 1024))
rss_peak=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
iter_max=$(mmax chatd_loop_iteration_max_seconds)
iter_ms=$(awk -v s="$iter_max" 'BEGIN { printf "%.1f", s * 1000 }')
counters=""
for c in accepted eofs resets slow_disconnects flood_disconnects lines_rate_limited \
	lines_too_long lines_control lines_bad_utf8 http_errors ws_protocol_errors deliveries; do
	counters+="$c=$(msum "chatd_${c}_total") "
done
say "server counters: $counters"
say "after: heap $heap_after KiB (baseline $heap_base), RSS $rss_after KiB (baseline $rss_base, peak $rss_peak), $fds_after fds (baseline $fds_base), longest loop iteration $iter_ms ms (bound $MAX_ITER_MS)"
[ "$fds_after" -eq "$fds_base" ] || fail "fd leak: $fds_after open, baseline $fds_base"
[ "$heap_after" -le $((heap_base + HEAP_SLACK_KIB)) ] ||
	fail "heap $heap_after KiB is more than $HEAP_SLACK_KIB KiB above the baseline $heap_base KiB"
[ "$rss_after" -le $((rss_base + RSS_SLACK_KIB)) ] ||
	fail "RSS $rss_after KiB is more than $RSS_SLACK_KIB KiB above the baseline $rss_base KiB"
awk -v s="$iter_max" -v b="$MAX_ITER_MS" 'BEGIN { exit !(s * 1000 <= b) }' ||
	fail "an event-loop iteration took $iter_ms ms (bound $MAX_ITER_MS ms)"
[ "$(msum chatd_slow_disconnects_total)" -gt 0 ] || fail "no slow consumer was ever cut"
stop_chatd
grep -E "ERROR|sanitizer|leak" "$chatd_log" && fail "errors in chatd's log"

# ---- 2. fd exhaustion -----------------------------------------------------------------------
exhaust() { # NAME, extra chatd args
	local name=$1
	shift
	start_chatd "$name" 256 --workers 2 "$@"
	local limit
	limit=$(sed -n 's/.*open-file limit \([0-9]*\), max clients \([0-9]*\).*/\1 fds, max clients \2/p' "$chatd_log")
	say "$name: chatd pid $pid port $port under ulimit -n 256 ($limit)"
	./bench/flood --port "$port" -c 50 -S 10 -r 20 -d 19 --json \
		--ready-file "$work/$name.ready" >"$work/$name.json" &
	fpid=$!
	pids+=("$fpid")
	wait_ready "$work/$name.ready"
	./bench/chaos exhaust --port "$port" --server-pid "$pid" --hog 300 --free 50 \
		>"$work/$name.out" 2>&1 || fail "$name: chaos exhaust"
	sed "s/^/soak: $name: /" "$work/$name.out"
	reap "$fpid"
	local line
	line=$(flood_summary <"$work/$name.json") || fail "$name: flood: $line"
	say "$name: users chatting throughout: $line"
	say "$name: accept pauses $(msum chatd_accept_pauses_total), refused as full $(msum chatd_rejected_full_total)"
	cp "$work/$name.out" "$work/$name.keep"
	echo "$line" >>"$work/$name.keep"
	stop_chatd
}
exhaust full
exhaust emfile --max-clients 100000

if [ -n "$report" ]; then
	{
		echo "### Soak: ${duration} s ($(date -u +%Y-%m-%d), $(nproc) cores)"
		echo
		cat "$work/chaos.md"
		echo
		echo "- Well-behaved users (bench/flood): $flood_line"
		echo "- Server counters: $counters"
		echo "- Live heap: $heap_base KiB after warm-up, $heap_after KiB after the soak"
		echo "- RSS: $rss_base KiB after warm-up, $rss_after KiB after the soak (peak $rss_peak KiB)"
		echo "- Open fds: $fds_base after warm-up, $fds_after after the soak"
		echo "- Longest event-loop iteration: $iter_ms ms (bound $MAX_ITER_MS ms)"
		echo
		for n in full emfile; do
			echo "### fd exhaustion: $n"
			echo
			sed 's/^/    /' "$work/$n.keep"
			echo
		done
	} >"$report"
	say "report written to $report"
fi
[ "$failed" -eq 0 ] && say "OK" || say "FAILED"
exit "$failed"
