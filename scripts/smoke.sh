#!/usr/bin/env bash
# smoke.sh - a short end-to-end load run for CI: chatd --workers 4 on a free loopback port,
# bench/flood with 2,000 clients for 3 s, then --rooms 20, then 1,000 WebSocket clients
# (--ws); passes only with zero loss, zero
# duplicates, zero reordering and no unexpected disconnect. Stops the server by its PID, also
# on failure. Not a timed test: no latency or throughput threshold is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s bin/chatd bench/flood
log=$(mktemp)
./bin/chatd --workers 4 --bind 127.0.0.1 --port 0 --admin off --irc-port off --log-level info 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.* port \([0-9]*\): .*/\1/p' "$log" | head -n1)
	[ -n "$port" ] && break
	sleep 0.05
done
[ -n "$port" ] || { echo "smoke: chatd did not start"; cat "$log"; exit 1; }

check() {
	python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
m = r["messages"]
print("smoke: %d clients, %d rooms: %d sent, %d expected, %d delivered, %d lost, %d duplicated, %d out of order, %d disconnects" % (
    r["clients"], r["rooms"], m["sent"], m["expected"], m["delivered"], m["lost"], m["duplicated"], m["out_of_order"], r["unexpected_disconnects"]))
ok = m["lost"] == 0 and m["duplicated"] == 0 and m["out_of_order"] == 0 and r["unexpected_disconnects"] == 0 and m["expected"] > 0 and r["connect"]["failed"] == 0
sys.exit(0 if ok else 1)'
}
./bench/flood --port "$port" --server-pid "$pid" -c 2000 -S 10 -r 50 -d 3 --warmup 0.5 --json | check
./bench/flood --port "$port" -c 2000 -S 40 -r 20 -d 2 --warmup 0.5 --rooms 20 --json | check
./bench/flood --port "$port" -c 1000 -S 10 -r 20 -d 2 --warmup 0.5 --ws --json | check
echo "smoke: OK"
