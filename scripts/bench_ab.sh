#!/usr/bin/env bash
# bench_ab.sh OLD_CHATD NEW_CHATD: the issue-11 key points for two chatd binaries and the
# yardstick, interleaved in one run so the figures share the machine's conditions (these
# machines are shared and noisy: compare within one run). Prints one line per run: target,
# workers, receivers, deliveries/s, p50, p99, lost, server CPU (cores).
#   1,000 receivers at 1.28M and 10.24M deliveries/s; 10,000 at 1.6M and 12.8M.
# Everything on 127.0.0.1; every server is started on a free port and stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: scripts/bench_ab.sh OLD_CHATD NEW_CHATD" >&2; exit 2; }
OLD=$1
NEW=$2
make -s bench/flood bench/yardstick
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true' EXIT

# one NAME BINARY SERVER-ARGS FLOOD-ARGS
one() {
	local name=$1 bin=$2 sargs=$3 fargs=$4 log port=
	log=$(mktemp)
	# shellcheck disable=SC2086
	if [[ $bin == *yardstick ]]; then "$bin" --bind 127.0.0.1 --port 0 2>"$log" &
	else "$bin" --bind 127.0.0.1 --port 0 --admin off --rate-limit 0 $sargs 2>"$log" & fi
	PID=$!
	for _ in $(seq 100); do
		port=$(sed -n 's/.* port \([0-9]*\): .*/\1/p' "$log" | head -n1)
		[ -n "$port" ] && break
		sleep 0.05
	done
	# shellcheck disable=SC2086
	./bench/flood --port "$port" --server-pid "$PID" --json $fargs >"$log.json" 2>/dev/null || true
	kill "$PID"
	wait "$PID" 2>/dev/null || true
	PID=
	python3 - "$log.json" "$name" "$fargs" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); m = r["messages"]; l = m["latency_ms"]
print(f"{sys.argv[2]:16s} {r['clients']:>6,} receivers {m['deliveries_per_s']:>12,.0f}/s  "
      f"p50 {l['p50']:8.2f}  p99 {l['p99']:8.2f} ms  lost {m['lost']}  "
      f"cpu {r.get('server', {}).get('cpu_s_per_s', 0):.2f}")
PY
	rm -f "$log" "$log.json"
}

for point in "1000 128" "1000 1024" "10000 16" "10000 128"; do
	set -- $point
	f="-c $1 -S 10 -r $2 -d 4 --warmup 1 -t 1"
	one yardstick ./bench/yardstick "" "$f"
	for w in 2 4; do
		one "old w$w" "$OLD" "--workers $w" "$f"
		one "new w$w" "$NEW" "--workers $w" "$f"
	done
done
