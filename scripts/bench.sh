#!/usr/bin/env bash
# bench.sh - chatd's benchmark suite. Starts each target itself on a free loopback port, drives
# it with bench/flood, stops it by its PID, and writes:
#   bench/results/<stamp>/*.json   one flood --json object per run (+ each target's log)
#   bench/results/latest.md        the tables
#   docs/bench-throughput.svg      deliveries/s and p99 against offered load (gnuplot)
#   docs/benchmarks.md             machine, commands, date, targets, tables, plot
#
# Targets: chatd (--workers 1, 2, 4), bench/yardstick (the bare fan-out loop: one thread, one
# sendmsg per client per loop iteration, chatd's wire format; the machine's practical ceiling,
# against which every chatd figure is reported as a ratio measured in the same run) and Redis
# pub/sub (bench/flood --redis against a redis-server this script starts with --save ''
# --appendonly no --maxclients 20000 and Redis's default client-output-buffer limits; skipped
# with a message when redis-server is missing and cannot be installed with apt-get as root).
#
# Runs, in order:
#   fixed     10 senders x 20 lines/s to 1,000 and 10,000 clients: every target
#   low       1,000 clients, 10 senders x 10 lines/s (100k deliveries/s): p50/p99; chatd
#             w2 and w4, yardstick, Redis
#   sweep     1,000 clients, 10 senders, 64-byte lines, the per-sender rate doubling from 128
#             lines/s (1.28M, 2.56M, 5.12M ... deliveries/s): chatd w1/w2/w4, yardstick,
#             Redis. Result: best zero-loss rate with p99 <= 50 ms; and p99 at 1.28M.
#   sweep10k  10,000 clients, 10 senders, 64-byte lines, doubling from 4 lines/s (0.4M, 0.8M,
#             1.6M, 3.2M, 6.4M, 12.8M deliveries/s): chatd w2/w4, yardstick, Redis.
#             Result: best zero-loss rate with p99 <= 500 ms.
#   rooms     1,000 clients in 100 rooms of 10, one sender per room, chatd w4 (the yardstick
#             and Redis runs have one room/channel only)
# A sweep stops at the first step that loses a delivery, has a client cut off, delivers under
# 90% of the offered load or has p99 over 1 s.
#
# The sweeps run flood with one receiving thread (-t 1): on a 2-core machine, chatd's workers
# plus more flood threads than that oversubscribe the cores and the scheduling delay shows up
# as latency (measured: 8M deliveries/s with 2 workers, p99 39 ms with -t 1, 77 ms with -t 2).
#
# Usage: scripts/bench.sh [--quick]   (about 10 minutes; --quick: short runs, fewer steps,
#                                      about 3 minutes)
# Everything targets 127.0.0.1, is bounded and stops by itself; only processes this script
# started are stopped, by their PID.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
DUR=4
WARM=1
STEPS=7     # 1,000-client sweeps: 128 .. 8,192 lines/s per sender
STEPS10K=6  # 10,000-client sweeps: 4 .. 128 lines/s per sender
ROOMSTEPS=7
if [ $QUICK = 1 ]; then DUR=2; WARM=0.5; STEPS=3; STEPS10K=2; ROOMSTEPS=2; fi

make -s bin/chatd bench/flood bench/yardstick
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/results/$stamp
mkdir -p "$out"
SERVER_PID=
TARGET=
PORT=
STARTS=0 # each start of a target gets its own log: NN-<target>.log
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT

# ---- Redis: installed, installable, or skipped ---------------------------------------------
REDIS=0
REDIS_NOTE=
if command -v redis-server >/dev/null 2>&1; then
	REDIS=1
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "bench: redis-server is not installed: apt-get install -y redis-server"
	if apt-get install -y redis-server >"$out/apt.log" 2>&1 ||
		{ apt-get update >>"$out/apt.log" 2>&1 &&
			apt-get install -y redis-server >>"$out/apt.log" 2>&1; }; then
		REDIS=1
	else
		REDIS_NOTE="redis-server could not be installed (apt-get failed, see $out/apt.log)"
	fi
else
	REDIS_NOTE="redis-server is not installed, and installing it needs root and apt-get"
fi
if [ $REDIS = 0 ]; then
	echo "bench: $REDIS_NOTE: the Redis pub/sub runs are skipped" >&2
fi

# ---- targets ----------------------------------------------------------------------------------
# wait_port LOG: the port from the target's "listening on ... port N: ..." line (chatd and
# bench/yardstick print the same shape).
wait_port() {
	PORT=
	for _ in $(seq 100); do
		PORT=$(sed -n 's/.* port \([0-9]*\): .*/\1/p' "$1" | head -n1)
		[ -n "$PORT" ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "bench: $TARGET did not start (see $1)" >&2
	exit 1
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Redis has no "port 0": a free port is picked, then Redis is started on it (tried again on
# another port if something took it in between). Its default client-output-buffer limits are
# kept (pubsub: cut a subscriber at 32 MB queued, or 8 MB for 60 s).
start_redis() {
	local log=$1
	for _ in 1 2 3 4 5; do
		PORT=$(free_port)
		redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no \
			--maxclients 20000 --dir "$out" --daemonize no --logfile '' >"$log" 2>&1 &
		SERVER_PID=$!
		for _ in $(seq 100); do
			grep -q "Ready to accept connections" "$log" && return 0
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=
	done
	REDIS=0
	REDIS_NOTE="redis-server did not start (see $log)"
	echo "bench: $REDIS_NOTE: the remaining Redis runs are skipped" >&2
	return 1
}

# start_target T: T is w1, w2, w4 (chatd --workers N), yardstick or redis; sets SERVER_PID,
# PORT and TARGET. Fails only when Redis does not start (chatd or the yardstick not starting
# ends the script).
start_target() {
	TARGET=$1
	STARTS=$((STARTS + 1))
	local log
	log=$out/$(printf %02d $STARTS)-$1.log
	case $1 in
	w*)
		./bin/chatd --workers "${1#w}" --bind 127.0.0.1 --port 0 --admin off --irc-port off --rate-limit 0 \
			--log-level info 2>"$log" &
		SERVER_PID=$!
		wait_port "$log"
		;;
	yardstick)
		./bench/yardstick --bind 127.0.0.1 --port 0 2>"$log" &
		SERVER_PID=$!
		wait_port "$log"
		;;
	redis) start_redis "$log" || return 1 ;;
	esac
}

stop_target() {
	kill "$SERVER_PID"
	wait "$SERVER_PID" || true
	SERVER_PID=
}

# The targets a list names, without Redis when it is skipped.
targets() {
	for t in "$@"; do
		[ "$t" = redis ] && [ $REDIS = 0 ] && continue
		echo "$t"
	done
}

# run NAME FLOOD-ARGS...: one flood run against the running target, JSON kept; prints a
# short line. Fails (status 1) when the run was not clean: a loss, a client cut off, under 90%
# of the offered load delivered, p99 over 1 s, or no result at all.
run() {
	local name=$1
	shift
	local extra=()
	[ "$TARGET" = redis ] && extra=(--redis)
	./bench/flood --port "$PORT" --server-pid "$SERVER_PID" --json "${extra[@]}" "$@" \
		>"$out/$name.json" || true
	python3 - "$out/$name.json" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print(f"  {sys.argv[1].split('/')[-1]:32s} no result")
    sys.exit(1)
m = r["messages"]
offered = r["senders"] * r["rate"] * r["clients"] / r["rooms"]
clean = (m["lost"] == 0 and m["undelivered_to_cut_off"] == 0 and m["duplicated"] == 0 and
         m["out_of_order"] == 0 and r["unexpected_disconnects"] == 0 and r.get("ok", True))
print(f"  {sys.argv[1].split('/')[-1]:32s} {m['deliveries_per_s']:>12,.0f} deliveries/s  "
      f"p99 {m['latency_ms']['p99']:8.2f} ms  lost {m['lost']}  ooo {m['out_of_order']}  "
      f"cut {r['unexpected_disconnects'] + m['slow_consumers_cut']}")
sys.exit(0 if clean and m["deliveries_per_s"] >= 0.9 * offered and m["latency_ms"]["p99"] < 1000 else 1)
EOF
}

# sweep NAME CLIENTS ROOMS SENDERS RATE STEPS: against the running target, doubles the
# per-sender rate from RATE (at most STEPS runs) until a run is not clean (see run).
sweep() {
	local name=$1 clients=$2 rooms=$3 senders=$4 rate=$5 steps=$6 step=0
	while [ $step -lt "$steps" ]; do
		run "$name-r$rate" -c "$clients" -S "$senders" -r "$rate" -d $DUR --warmup $WARM \
			--rooms "$rooms" -t 1 || break
		rate=$((rate * 2))
		step=$((step + 1))
	done
}

echo "== fixed load: 10 senders x 20 lines/s, 1,000 and 10,000 clients"
for t in $(targets w1 w2 w4 yardstick redis); do
	start_target "$t" || continue
	for c in 1000 10000; do
		run "fixed-$t-c$c" -c $c -S 10 -r 20 -d $DUR --warmup $WARM || true
	done
	stop_target
done

echo "== 1,000 clients: low load (10 senders x 10 lines/s = 100k deliveries/s), then the"
echo "   saturation sweep (10 senders, 64-byte lines, from 1.28M deliveries/s)"
for t in $(targets w1 w2 w4 yardstick redis); do
	start_target "$t" || continue
	if [ "$t" != w1 ]; then
		run "low-$t" -c 1000 -S 10 -r 10 -d $DUR --warmup $WARM -t 1 || true
	fi
	sweep "sweep-$t" 1000 1 10 128 $STEPS
	stop_target
done

echo "== 10,000 clients: saturation sweep (10 senders, 64-byte lines, from 0.4M deliveries/s)"
for t in $(targets w2 w4 yardstick redis); do
	start_target "$t" || continue
	sweep "sweep10k-$t" 10000 1 10 4 $STEPS10K
	stop_target
done

echo "== rooms: 1,000 clients in 100 rooms, one sender per room, 4 workers"
start_target w4
sweep "rooms100-w4" 1000 100 100 500 $ROOMSTEPS
stop_target

# what the report needs to know besides the runs
python3 - "$out/meta.json" "$QUICK" "$REDIS" "$REDIS_NOTE" <<'EOF'
import json, subprocess, sys
def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
json.dump({"quick": sys.argv[2] == "1", "redis": sys.argv[3] == "1", "redis_note": sys.argv[4],
           "redis_version": version(["redis-server", "--version"]) if sys.argv[3] == "1" else "",
           "chatd_commit": version(["git", "rev-parse", "--short", "HEAD"])},
          open(sys.argv[1], "w"))
EOF
python3 scripts/bench_report.py "$out" "$QUICK"
echo "bench: results in $out, bench/results/latest.md, docs/benchmarks.md"
