#!/usr/bin/env bash
# callgrind_ab.sh OLD_CHATD NEW_CHATD: instructions per delivery of two chatd binaries under
# the same light flood (200 receivers, 5 senders x 40 lines/s, --workers 2), counted by
# callgrind. Instruction counts do not depend on how busy the shared machine is, so this
# settles small per-delivery costs that the timed benchmark (bench_ab.sh) cannot tell from
# noise. Prints, per binary: deliveries, total instructions, instructions per delivery, and
# those spent in route.c (the fan-out). Loopback only; each server is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: scripts/callgrind_ab.sh OLD_CHATD NEW_CHATD" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 2; }
make -s bench/flood
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true' EXIT

# one NAME BINARY: prints "NAME deliveries Ir Ir/delivery route.c-Ir/delivery"
one() {
	local name=$1 bin=$2 log out port='' extra=''
	log=$(mktemp)
	out=$(mktemp)
	"$bin" --help 2>&1 | grep -q -- --irc-port && extra="--irc-port off"
	# shellcheck disable=SC2086
	valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --bind 127.0.0.1 --port 0 \
		--admin off --rate-limit 0 --workers 2 $extra 2>"$log" &
	PID=$!
	for _ in $(seq 400); do
		port=$(sed -n 's/.* port \([0-9]*\): .*/\1/p' "$log" | head -n1)
		[ -n "$port" ] && break
		sleep 0.05
	done
	./bench/flood --port "$port" --json -c 200 -S 5 -r 40 -d 4 --warmup 1 -t 1 --drain 20 \
		>"$log.json" 2>/dev/null || true
	kill "$PID"
	wait "$PID" 2>/dev/null || true
	PID=
	callgrind_annotate --auto=no "$out" >"$out.txt" 2>/dev/null
	python3 - "$log.json" "$out.txt" "$name" <<'PY'
import json, re, sys
m = json.load(open(sys.argv[1]))["messages"]
total = route = 0
for line in open(sys.argv[2]):
    f = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$", line)
    if not f:
        continue
    n = int(f.group(1).replace(",", ""))
    if "PROGRAM TOTALS" in f.group(2):
        total = n
    elif not f.group(2).startswith("=>") and re.search(r"src/route\.c:", f.group(2)):
        route += n
d = max(m["delivered"], 1)
print(f"{sys.argv[3]:4s} deliveries {m['delivered']:>8,}  instructions {total:>13,}  "
      f"per delivery {total / d:7.1f}  in route.c {route / d:6.1f}")
PY
	rm -f "$log" "$log.json" "$out" "$out.txt"
}

one old "$1"
one new "$2"
