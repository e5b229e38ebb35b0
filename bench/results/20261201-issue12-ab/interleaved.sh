#!/usr/bin/env bash
# alternate OLD/NEW chatd --workers 2 at one point; prints p50 p99 cpu
cd /work/main
one() {
	local bin=$1 log port
	log=$(mktemp)
	"$bin" --bind 127.0.0.1 --port 0 --admin off --rate-limit 0 --workers 2 2>"$log" &
	local pid=$!
	for _ in $(seq 100); do port=$(sed -n 's/.* port \([0-9]*\): .*/\1/p' "$log" | head -n1); [ -n "$port" ] && break; sleep 0.05; done
	./bench/flood --port "$port" --server-pid "$pid" --json $ARGS >"$log.json" 2>/dev/null || true
	kill "$pid"; wait "$pid" 2>/dev/null
	python3 -c "import json,sys; r=json.load(open('$log.json')); l=r['messages']['latency_ms']; print('$2', l['p50'], l['p99'], r.get('server',{}).get('cpu_s_per_s',0))"
	rm -f "$log" "$log.json"
}
for i in 1 2 3 4 5 6; do one /tmp/chatd-before old; one bin/chatd new; done
