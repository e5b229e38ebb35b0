#!/usr/bin/env bash
# flood_targets_check.sh - checks bench/flood's several-target mode (--ports, --targets) with
# what exists before chatd has a cluster: two separate chatd servers, which do NOT pass each
# other's lines on.
#   1. one target (--port): today's output, no per-target fields, clean.
#   2. --ports A,B (two separate servers): flood must report the loss: exit status 1, every
#      lost delivery a line sent to the other server, the lines of a receiver's own server
#      delivered (delivered = expected - lost), no duplicate, nothing out of order.
#   3. the same with 10 rooms (one sender each): every room must span both servers, so each
#      room loses the other server's lines.
#   4. --targets naming server A twice: clean (every line reaches every receiver once).
#   5. with redis-server installed, the same two runs with --redis: two separate Redis servers
#      lose the other's lines, one Redis named twice is clean.
# Every server runs on 127.0.0.1 on a free port and is stopped by its PID, also on failure;
# each flood run is bounded by timeout(1). About 20 s.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s bin/chatd bench/flood
work=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "flood_targets_check: FAIL: $*" >&2
	exit 1
}

# start_chatd NAME: sets PID and PORT (from "listening on ... port N").
start_chatd() {
	./bin/chatd --workers 1 --bind 127.0.0.1 --port 0 --admin off --irc-port off --rate-limit 0 \
		--log-level info 2>"$work/$1.log" &
	PID=$!
	PIDS+=("$PID")
	PORT=
	for _ in $(seq 100); do
		PORT=$(sed -n 's/.* port \([0-9]*\): .*/\1/p' "$work/$1.log" | head -n1)
		[ -n "$PORT" ] && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$work/$1.log" >&2
	fail "chatd $1 did not start"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis NAME: sets PID and PORT (a free port; tried again if taken in between).
start_redis() {
	for _ in 1 2 3; do
		PORT=$(free_port)
		redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no \
			--dir "$work" --daemonize no --logfile '' >"$work/$1.log" 2>&1 &
		PID=$!
		PIDS+=("$PID")
		for _ in $(seq 100); do
			grep -q "Ready to accept connections" "$work/$1.log" && return 0
			kill -0 "$PID" 2>/dev/null || break
			sleep 0.05
		done
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
		unset 'PIDS[-1]' # stopped and reaped: its PID is no longer ours to kill
	done
	cat "$work/$1.log" >&2
	fail "redis-server $1 did not start"
}

# flood NAME EXPECTED-STATUS ARGS...: one short run, its JSON in $work/NAME.json.
flood() {
	local name=$1 want=$2 rc=0
	shift 2
	timeout 25 ./bench/flood -c 200 -S 4 -r 20 -d 1 --warmup 0.2 --drain 1 --json "$@" \
		>"$work/$name.json" || rc=$?
	[ "$rc" = "$want" ] || fail "$name: bench/flood $* exited $rc, expected $want"
}

# check NAME MODE: MODE one (a single target), lossy (separate servers) or clean (one server
# named twice). Prints the figures; fails when they are not what MODE must show.
check() {
	python3 - "$work/$1.json" "$1" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
name, mode = sys.argv[2], sys.argv[3]
m = r["messages"]
problems = []
def need(cond, what):
    if not cond:
        problems.append(what)
need(r["connect"]["failed"] == 0, "connects failed")
need(r["unexpected_disconnects"] == 0, "unexpected disconnects")
need(m["duplicated"] == 0 and m["out_of_order"] == 0, "duplicates or reordering")
need(m["sent"] > 0 and m["expected"] > 0, "nothing sent")
line = (f"{name}: {m['sent']} sent, {m['expected']} expected, {m['delivered']} delivered, "
        f"{m['lost']} lost, {m['duplicated']} duplicated, {m['out_of_order']} out of order")
if mode == "one":
    need("targets" not in r and "servers" not in r, "per-target fields with one target")
    need(m["lost"] == 0 and m["delivered"] == m["expected"] and r["ok"], "not clean")
else:
    t = r["targets"]
    need(len(t) == 2, "not two targets")
    need(sum(x["expected"] for x in t) == m["expected"], "per-target expected != expected")
    need(sum(x["delivered"] for x in t) == m["delivered"], "per-target delivered != delivered")
    need(sum(x["lost"] for x in t) == m["lost"], "per-target lost != lost")
    need(all(x["clients"] == x["connected"] == x["joined"] == 100 for x in t),
         "clients not split 100/100")
    line += "; " + ", ".join(f"{x['address']}: {x['delivered']} delivered, {x['lost']} lost "
                             f"({x['lost_from_other_targets']} sent to the other)" for x in t)
    if mode == "lossy":
        need(not r["ok"], "ok although lines were lost")
        need(m["lost"] > 0 and r["lost_across_targets"] == m["lost"],
             "the loss is not all across targets")
        need(m["delivered"] == m["expected"] - m["lost"], "delivered != expected - lost")
        need(all(x["lost"] == x["lost_from_other_targets"] > 0 for x in t),
             "a target did not lose exactly the other's lines")
    else:
        need(r["ok"] and m["lost"] == 0 and r["lost_across_targets"] == 0, "not clean")
        need(m["delivered"] == m["expected"], "delivered != expected")
    if "servers" in r:
        s = r["servers"]
        need(len(s) == len({x.get("pid") for x in t}), "servers != distinct pids")
        line += f"; server CPU {', '.join(str(x['cpu_s']) for x in s)} s, sum {r['server']['cpu_s']} s"
print("  " + line)
if problems:
    print(f"  {name}: " + "; ".join(problems))
    sys.exit(1)
EOF
}

start=$SECONDS
start_chatd a
PA=$PID A=$PORT
start_chatd b
PB=$PID B=$PORT
echo "flood_targets_check: chatd a (pid $PA) on port $A, chatd b (pid $PB) on port $B"
flood one 0 --port "$A" --server-pid "$PA"
check one one || fail "one target"
flood separate 1 --ports "$A,$B" --server-pid "$PA,$PB"
check separate lossy || fail "two separate servers: the loss is not reported as it should be"
flood rooms 1 --ports "$A,$B" --rooms 10 -S 10
check rooms lossy || fail "two separate servers, 10 rooms: a room does not span both"
flood twice 0 --targets "127.0.0.1:$A,localhost:$A" --server-pid "$PA,$PA"
check twice clean || fail "one server named twice"

if command -v redis-server >/dev/null 2>&1; then
	start_redis ra
	RA=$PORT
	start_redis rb
	RB=$PORT
	echo "flood_targets_check: redis-server on ports $RA and $RB"
	flood redis-separate 1 --redis --ports "$RA,$RB"
	check redis-separate lossy || fail "--redis, two separate servers"
	flood redis-twice 0 --redis --targets "127.0.0.1:$RA,localhost:$RA"
	check redis-twice clean || fail "--redis, one server named twice"
else
	echo "flood_targets_check: redis-server is not installed: the --redis runs are skipped"
fi
echo "flood_targets_check: OK ($((SECONDS - start)) s)"
