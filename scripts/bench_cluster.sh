#!/usr/bin/env bash
# bench_cluster.sh - the cluster figures (issue 13): one room, 1,000 clients, 10 senders, at
# 10, 40, 160 and 640 lines/s per sender, over four layouts measured side by side in one run
# (interleaved: for each rate every layout in turn, the whole sequence three times, so they
# share the machine's conditions):
#   single  1 chatd node without --cluster (the baseline: today's single-node path)
#   c1      1 node with --cluster (every room line goes through Redis and back)
#   c2, c3  2 and 3 nodes with --cluster, bench/flood's users spread round-robin over them
# Every node is `bin/chatd --bind 127.0.0.1 --port 0 --admin 127.0.0.1:0 --rate-limit 0
# --workers 1` (one worker per node: this machine has 2 cores, shared by the nodes, Redis
# and the load generator; the figures are the cluster's overhead and correctness, not a
# speed-up). Redis 7 is started by this script for each cluster run:
# `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no --maxclients 20000`.
# bench/flood --targets checks that every line reaches every receiver on every node exactly
# once and in per-sender order.
#
# Per run: deliveries/s, p50/p99, lost, failed connects, chatd CPU (the nodes' sum, from
# flood's server fields: CPU seconds while sending / sending time), and for Redis, over the
# same sending window (sampled when flood's --ready-file appears and warm-up + duration
# later): its CPU (utime + stime from /proc/PID/stat / CLK_TCK / window), the room lines it
# publishes (EVALSHA calls of the publish script per second, from INFO commandstats), all
# commands per second (total_commands_processed, which counts the script's INCR and PUBLISH
# too) and the bytes it sends. The nodes' chatd_cluster_* counters from /metrics after each run
# are kept too (a line that fell back to local-only delivery would show there).
#
# Writes bench/results/<stamp>-cluster/: <run>.json (flood's --json), <run>.redis.json (the
# Redis samples), <run>.metrics.txt, runs.json (one row per run), summary.json and table.md
# (per rate and layout: medians over the repeats, losses and failures summed), meta.json, and
# each process's log under logs/. A run is clean when nothing was lost, duplicated or
# reordered, no connect failed, no client was cut, at least 90% of the offered load arrived
# and no node fell back to local-only delivery; the script exits 1 if any run was not clean.
#
# Usage: scripts/bench_cluster.sh [--quick]  (about 6 minutes: 48 runs of 3 s + 1 s warm-up;
#                                            --quick: 200 clients, 1 s runs, two rates, once,
#                                            about 30 s, a check of the script, not figures)
# Everything is on 127.0.0.1 on free ports; only processes this script started are stopped,
# by their PID; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
CLIENTS=1000
SENDERS=10
RATES="10 40 160 640" # lines/s per sender: 0.1M, 0.4M, 1.6M, 6.4M deliveries/s offered
DUR=3
WARM=1
REPEATS=3 # every (rate, layout) three times, interleaved; the table shows medians
if [ $QUICK = 1 ]; then CLIENTS=200; RATES="10 40"; DUR=1; WARM=0.5; REPEATS=1; fi
LAYOUTS="single c1 c2 c3"

for tool in redis-server redis-cli python3 curl timeout; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "bench_cluster: $tool is not installed (redis-server and redis-cli: sh scripts/install-deps.sh redis, or apt-get install redis-server)" >&2
		exit 1
	}
done
make -s bin/chatd bench/flood
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/results/$stamp-cluster
mkdir -p "$out/logs"
PIDS=()    # every process of the current run (nodes, Redis), stopped by PID
SAMPLER=   # the Redis sampler of the current run
STARTS=0   # each process started gets its own log: logs/NNN-<what>.log
cleanup() {
	if [ -n "$SAMPLER" ]; then
		kill "$SAMPLER" 2>/dev/null || true
		wait "$SAMPLER" 2>/dev/null || true
	fi
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

newlog() {
	STARTS=$((STARTS + 1))
	LOG=$out/logs/$(printf %03d $STARTS)-$1.log
}

# start_redis: sets REDIS_PID and REDIS_PORT. Redis has no "port 0": a free port is picked,
# then Redis started on it (tried again on another port if something took it in between).
start_redis() {
	newlog redis
	for _ in 1 2 3 4 5; do
		REDIS_PORT=$(free_port)
		redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
			--maxclients 20000 --dir "$out" --daemonize no --logfile '' >"$LOG" 2>&1 &
		REDIS_PID=$!
		PIDS+=("$REDIS_PID")
		for _ in $(seq 100); do
			grep -q "Ready to accept connections" "$LOG" && return 0
			kill -0 "$REDIS_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill "$REDIS_PID" 2>/dev/null || true
		wait "$REDIS_PID" 2>/dev/null || true
		unset 'PIDS[-1]' # stopped and reaped: its PID is no longer ours to kill
	done
	echo "bench_cluster: redis-server did not start (see $LOG)" >&2
	exit 1
}

# start_node NAME [CLUSTER-URL]: one chatd node; appends its PID, port and admin port to
# NODE_PIDS, NODE_PORTS, NODE_ADMINS. With a URL, waits until its link to Redis is up.
start_node() {
	local name=$1 url=${2:-} pid port='' admin='' up=1
	local args=(--bind 127.0.0.1 --port 0 --irc-port off --admin 127.0.0.1:0 --rate-limit 0 --workers 1
		--log-level info)
	[ -n "$url" ] && args+=(--cluster "$url") && up=0
	newlog "$name"
	./bin/chatd "${args[@]}" 2>"$LOG" &
	pid=$!
	PIDS+=("$pid")
	for _ in $(seq 200); do
		port=$(sed -n 's/.* listening on .* port \([0-9]*\): .*/\1/p' "$LOG" | head -n1)
		admin=$(sed -n 's/.* admin listener on .* port \([0-9]*\): .*/\1/p' "$LOG" | head -n1)
		[ $up = 0 ] && grep -q "cluster: link to Redis .* is up" "$LOG" && up=1
		[ -n "$port" ] && [ -n "$admin" ] && [ $up = 1 ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$port" ] || [ -z "$admin" ] || [ $up = 0 ]; then
		echo "bench_cluster: node $name did not start or its link did not come up (see $LOG)" >&2
		exit 1
	fi
	NODE_PIDS+=("$pid")
	NODE_PORTS+=("$port")
	NODE_ADMINS+=("$admin")
}

# stop_all: the nodes first, then Redis (the reverse of their start), each by its PID.
stop_all() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill "${PIDS[$i]}" 2>/dev/null || true
		wait "${PIDS[$i]}" 2>/dev/null || true
	done
	PIDS=()
}

# The Redis sampler, run in the background for one run: samples Redis's CPU (utime + stime of
# /proc/PID/stat, every thread) and INFO all (through redis-cli) before flood starts, when
# flood's ready file appears (the sending starts 50 ms later), warm-up + duration after that
# (the sending ends), and when the done file appears (flood has exited). Writes JSON.
sampler() {
	python3 - "$@" <<'EOF'
import json, os, subprocess, sys, time
port, pid, ready, done, started, send_s, path = sys.argv[1:8]
send_s = float(send_s)
tck = os.sysconf("SC_CLK_TCK")

def sample(what):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    t = time.monotonic()
    info = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", port, "INFO", "all"],
                          capture_output=True, text=True, timeout=10).stdout
    stats = {}
    for line in info.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            if k.startswith("cmdstat_"):
                stats[k] = {kv.split("=")[0]: float(kv.split("=")[1]) for kv in v.split(",")
                            if "=" in kv}
            else:
                try:
                    stats[k] = float(v)
                except ValueError:
                    pass
    return {"what": what, "t": t, "cpu_ticks": ticks, "clk_tck": tck,
            "total_commands_processed": stats.get("total_commands_processed", 0),
            "total_net_output_bytes": stats.get("total_net_output_bytes", 0),
            "total_net_input_bytes": stats.get("total_net_input_bytes", 0),
            "used_cpu_user": stats.get("used_cpu_user", 0),
            "used_cpu_sys": stats.get("used_cpu_sys", 0),
            "cmdstat": {k[8:]: v for k, v in stats.items() if k.startswith("cmdstat_")}}

def wait_for(p, limit):
    end = time.monotonic() + limit
    while not os.path.exists(p):
        if time.monotonic() > end:
            return False
        time.sleep(0.005)
    return True

samples = [sample("before")]
open(started, "w").close()
if wait_for(ready, 120):
    time.sleep(0.05)  # flood starts sending 50 ms after creating the ready file
    samples.append(sample("send_start"))
    time.sleep(max(0.0, send_s - (time.monotonic() - samples[-1]["t"])))
    samples.append(sample("send_end"))
wait_for(done, 180)
samples.append(sample("after"))
json.dump(samples, open(path, "w"), indent=1)
EOF
}

# metrics NAME: every node's chatd_cluster_* lines from /metrics, one block per node.
metrics() {
	local f=$out/$1.metrics.txt i
	: >"$f"
	for i in "${!NODE_ADMINS[@]}"; do
		echo "# node $i (pid ${NODE_PIDS[$i]})" >>"$f"
		curl -s -m 5 "http://127.0.0.1:${NODE_ADMINS[$i]}/metrics" | grep '^chatd_cluster_' \
			>>"$f" || true
	done
}

# one LAYOUT RATE REPEAT: start the layout, one flood run, stop everything; prints a short
# line.
one() {
	local layout=$1 rate=$2 n=1 url='' name t i rc=0 targets=() pids=()
	name=r$rate-$layout-$3
	NODE_PIDS=()
	NODE_PORTS=()
	NODE_ADMINS=()
	REDIS_PID=
	REDIS_PORT=
	case $layout in
	single) n=1 ;;
	c*) n=${layout#c} ;;
	esac
	if [ "$layout" != single ]; then
		start_redis
		url=redis://127.0.0.1:$REDIS_PORT/bench
	fi
	for ((i = 0; i < n; i++)); do start_node "$name-node$i" "$url"; done
	for i in "${!NODE_PORTS[@]}"; do
		targets+=("127.0.0.1:${NODE_PORTS[$i]}")
		pids+=("${NODE_PIDS[$i]}")
	done
	rm -f "$out/.ready" "$out/.done" "$out/.started"
	if [ -n "$REDIS_PID" ]; then
		sampler "$REDIS_PORT" "$REDIS_PID" "$out/.ready" "$out/.done" "$out/.started" \
			"$(python3 -c "print($WARM + $DUR)")" "$out/$name.redis.json" &
		SAMPLER=$!
		for _ in $(seq 200); do
			[ -e "$out/.started" ] && break
			sleep 0.05
		done
	fi
	t=$(IFS=,; echo "${targets[*]}")
	timeout 120 ./bench/flood --targets "$t" --server-pid "$(IFS=,; echo "${pids[*]}")" \
		-c "$CLIENTS" -S "$SENDERS" -r "$rate" -d "$DUR" --warmup "$WARM" -t 1 \
		--ready-file "$out/.ready" --json >"$out/$name.json" 2>"$out/logs/$name.flood.err" || rc=$?
	[ -s "$out/logs/$name.flood.err" ] || rm -f "$out/logs/$name.flood.err"
	touch "$out/.done"
	if [ -n "$SAMPLER" ]; then
		wait "$SAMPLER" || true
		SAMPLER=
	fi
	[ "$layout" != single ] && metrics "$name"
	stop_all
	rm -f "$out/.ready" "$out/.done" "$out/.started"
	python3 - "$out" "$name" "$layout" "$n" "$rate" "$rc" "$3" <<'EOF'
import json, os, sys
out, name, layout, nodes, rate, rc, repeat = sys.argv[1:8]
row = {"run": name, "layout": layout, "nodes": int(nodes), "cluster": layout != "single",
       "rate": int(rate), "repeat": int(repeat), "flood_exit": int(rc)}
try:
    r = json.load(open(f"{out}/{name}.json"))
except (OSError, ValueError):
    r = None
if r is None:
    row.update(clean=False, why="no result")
else:
    m, c = r["messages"], r["connect"]
    offered = r["senders"] * r["rate"] * r["clients"]
    failed = c["failed"] + (r["clients"] - c["connected"])
    row.update(clients=r["clients"], senders=r["senders"], lines_per_s=r["senders"] * r["rate"],
               offered=offered, deliveries_per_s=m["deliveries_per_s"],
               p50_ms=m["latency_ms"]["p50"], p99_ms=m["latency_ms"]["p99"], lost=m["lost"],
               duplicated=m["duplicated"], out_of_order=m["out_of_order"],
               failed_connects=failed,
               cut=r["unexpected_disconnects"] + m["slow_consumers_cut"]
               + m["undelivered_to_cut_off"],
               chatd_cpu=r.get("server", {}).get("cpu_s_per_s"),
               chatd_cpu_per_node=[s["cpu_s_per_s"] for s in r.get("servers", [])]
               or [r.get("server", {}).get("cpu_s_per_s")])
    why = []
    if m["lost"] or m["duplicated"] or m["out_of_order"]:
        why.append("lost, duplicated or reordered")
    if failed:
        why.append(f"{failed} connects failed")
    if row["cut"]:
        why.append("clients cut")
    if m["deliveries_per_s"] < 0.9 * offered:
        why.append("under 90% of the offered load")
    if not r.get("ok", False):
        why.append("flood not ok")
    row["clean"] = not why
    row["why"] = ", ".join(why)
rp = f"{out}/{name}.redis.json"
if os.path.exists(rp):
    s = {x["what"]: x for x in json.load(open(rp))}
    if "send_start" in s and "send_end" in s:
        a, b = s["send_start"], s["send_end"]
        dt = b["t"] - a["t"]
        def calls(x, cmd, what="calls"):
            return x["cmdstat"].get(cmd, {}).get(what, 0)
        n_eval = calls(b, "evalsha") - calls(a, "evalsha")
        row["redis"] = {
            "window_s": round(dt, 3),
            "cpu": (b["cpu_ticks"] - a["cpu_ticks"]) / a["clk_tck"] / dt,
            "cpu_rusage": (b["used_cpu_user"] + b["used_cpu_sys"]
                           - a["used_cpu_user"] - a["used_cpu_sys"]) / dt,
            "evalsha_per_s": n_eval / dt,
            # time inside the script (INCR, PUBLISH and the fan-out to the subscribers' buffers)
            "evalsha_usec_per_call": ((calls(b, "evalsha", "usec") - calls(a, "evalsha", "usec"))
                                      / n_eval if n_eval else None),
            "publish_per_s": (calls(b, "publish") - calls(a, "publish")) / dt,
            "commands_per_s": (b["total_commands_processed"]
                               - a["total_commands_processed"]) / dt,
            "out_bytes_per_s": (b["total_net_output_bytes"] - a["total_net_output_bytes"]) / dt,
            "in_bytes_per_s": (b["total_net_input_bytes"] - a["total_net_input_bytes"]) / dt,
        }
        # the whole run, connects and join/leave notices included
        a, b = s["before"], s["after"]
        row["redis_whole_run"] = {
            "seconds": round(b["t"] - a["t"], 3),
            "cpu_s": (b["cpu_ticks"] - a["cpu_ticks"]) / a["clk_tck"],
            "evalsha": calls(b, "evalsha") - calls(a, "evalsha"),
            "commands": b["total_commands_processed"] - a["total_commands_processed"],
        }
    else:
        row["clean"] = False
        row["why"] = (row.get("why", "") + ", no Redis sample").lstrip(", ")
mp = f"{out}/{name}.metrics.txt"
if os.path.exists(mp):
    tot = {}
    for line in open(mp):
        if line.startswith("chatd_cluster_"):
            k, v = line.split()
            tot[k] = tot.get(k, 0) + float(v)
    row["cluster_metrics"] = tot
    if tot.get("chatd_cluster_local_only_total", 0) or tot.get("chatd_cluster_dropped_total", 0):
        row["clean"] = False
        row["why"] = (row.get("why", "") + ", local-only or dropped lines").lstrip(", ")
with open(f"{out}/runs.jsonl", "a") as f:
    f.write(json.dumps(row) + "\n")
line = f"  {name:12s}"
if "deliveries_per_s" in row:
    line += (f" {row['deliveries_per_s']:>11,.0f} deliveries/s  p50 {row['p50_ms']:7.2f}  "
             f"p99 {row['p99_ms']:7.2f} ms  lost {row['lost']}  failed {row['failed_connects']}  "
             f"chatd {row['chatd_cpu']:.2f}")
if "redis" in row:
    line += (f"  redis {row['redis']['cpu']:.3f} cores, "
             f"{row['redis']['evalsha_per_s']:,.0f} lines/s")
print(line + ("" if row["clean"] else f"  NOT CLEAN: {row['why']}"))
EOF
}

echo "bench_cluster: $CLIENTS clients, $SENDERS senders, one room; rates $RATES lines/s per" \
	"sender; $DUR s + $WARM s warm-up each, $REPEATS times; results in $out"
start=$SECONDS
for ((k = 1; k <= REPEATS; k++)); do
	for rate in $RATES; do
		for layout in $LAYOUTS; do one "$layout" "$rate" "$k"; done
	done
done

python3 - "$out" "$QUICK" "$DUR" "$WARM" "$REPEATS" "$((SECONDS - start))" <<'EOF'
import json, os, statistics, subprocess, sys
out, quick, dur, warm, repeats, took = sys.argv[1:7]
rows = [json.loads(l) for l in open(f"{out}/runs.jsonl")]
os.remove(f"{out}/runs.jsonl")
json.dump(rows, open(f"{out}/runs.json", "w"), indent=1)
def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
json.dump({"quick": quick == "1", "duration_s": float(dur), "warmup_s": float(warm),
           "repeats": int(repeats), "seconds": int(took), "cpu": cpu, "cores": os.cpu_count(),
           "redis_version": version(["redis-server", "--version"]),
           "chatd_commit": version(["git", "rev-parse", "--short", "HEAD"])},
          open(f"{out}/meta.json", "w"), indent=1)

# one cell per (rate, layout): medians over the repeats, losses and failures summed
names = {"single": "1 node, no --cluster", "c1": "1 node, --cluster",
         "c2": "2 nodes, --cluster", "c3": "3 nodes, --cluster"}
order = list(names)
cells = {}
for r in rows:
    cells.setdefault((r["rate"], r["layout"]), []).append(r)
def med(rs, get):
    v = [get(r) for r in rs]
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None
summary = []
for (rate, layout), rs in sorted(cells.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]))):
    ok = [r for r in rs if "deliveries_per_s" in r]
    red = [r for r in ok if "redis" in r]
    summary.append({
        "layout": layout, "name": names[layout], "rate": rate, "runs": len(rs),
        "clean_runs": sum(r["clean"] for r in rs),
        "why": "; ".join(sorted({r["why"] for r in rs if not r["clean"]})),
        "lines_per_s": ok[0]["lines_per_s"] if ok else rate * 10,
        "offered": ok[0]["offered"] if ok else None,
        "deliveries_per_s": med(ok, lambda r: r["deliveries_per_s"]),
        "p50_ms": med(ok, lambda r: r["p50_ms"]), "p99_ms": med(ok, lambda r: r["p99_ms"]),
        "p99_ms_min": min((r["p99_ms"] for r in ok), default=None),
        "p99_ms_max": max((r["p99_ms"] for r in ok), default=None),
        "lost": sum(r["lost"] for r in ok),
        "failed_connects": sum(r["failed_connects"] for r in ok),
        "chatd_cpu": med(ok, lambda r: r["chatd_cpu"]),
        "redis_cpu": med(red, lambda r: r["redis"]["cpu"]),
        "redis_evalsha_per_s": med(red, lambda r: r["redis"]["evalsha_per_s"]),
        "redis_evalsha_usec_per_call": med(red, lambda r: r["redis"]["evalsha_usec_per_call"]),
        "redis_commands_per_s": med(red, lambda r: r["redis"]["commands_per_s"]),
        "redis_out_bytes_per_s": med(red, lambda r: r["redis"]["out_bytes_per_s"]),
    })
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
base = {s["rate"]: s for s in summary if s["layout"] == "single"}
def f(v, fmt):
    return "-" if v is None else format(v, fmt)
def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "-"
head = ("| layout | lines/s (deliveries/s offered) | deliveries/s | p50 ms | p99 ms (range) "
        "| p99 vs 1 node | lost | failed connects | chatd CPU (cores, sum) | Redis CPU (cores) "
        "| lines Redis publishes/s | Redis commands/s | µs in Redis per line |")
lines = [head, "|" + "---|" * (head.count("|") - 1)]
for s in summary:
    b = base.get(s["rate"], {})
    lines.append(
        f"| {s['name']} | {s['lines_per_s']:,} ({f(s['offered'] and s['offered'] / 1e6, 'g')}M) "
        f"| {f(s['deliveries_per_s'], ',.0f')} | {f(s['p50_ms'], '.2f')} "
        f"| {f(s['p99_ms'], '.2f')} ({f(s['p99_ms_min'], '.2f')}-{f(s['p99_ms_max'], '.2f')}) "
        f"| {ratio(s['p99_ms'], b.get('p99_ms'))} | {s['lost']} | {s['failed_connects']} "
        f"| {f(s['chatd_cpu'], '.2f')} | {f(s['redis_cpu'], '.3f')} "
        f"| {f(s['redis_evalsha_per_s'], ',.0f')} | {f(s['redis_commands_per_s'], ',.0f')} "
        f"| {f(s['redis_evalsha_usec_per_call'], '.1f')} |"
        + ("" if s["clean_runs"] == s["runs"] else
           f" {s['runs'] - s['clean_runs']} of {s['runs']} runs not clean: {s['why']}"))
table = "\n".join(lines) + "\n"
open(f"{out}/table.md", "w").write(table)
print()
print(table)
bad = [r["run"] for r in rows if not r["clean"]]
print(f"bench_cluster: {len(rows)} runs in {took} s, "
      + (f"NOT CLEAN: {', '.join(bad)}" if bad else "all clean"))
sys.exit(1 if bad else 0)
EOF
