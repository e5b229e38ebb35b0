#!/usr/bin/env bash
# tests/service.sh - make install and what it installs, checked with the real tools (make
# test-service, part of make test): every file in place under DESTDIR and PREFIX, the systemd
# unit through systemd-analyze (verify, and its offline security score), both man pages through
# groff and man without a warning, every option of chatd --help in the man page and in the
# example chatd.conf (whose values chatd must accept), and --log-format json read back by
# Python's json module. One behaviour per check, each named; any failure fails the run.
#
# Needs systemd-analyze (systemd), man (man-db), groff (groff-base) and python3: installed with
# scripts/install-deps.sh when root (as in CI); otherwise a missing tool skips the checks that
# need it, saying so.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}

tmp=$(mktemp -d /tmp/chatd-service-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if [ "$(id -u)" = 0 ]; then
	sh scripts/install-deps.sh service || exit 1
fi
have() { command -v "$1" >/dev/null 2>&1; }

passed=0 failed=0 skipped=0
# check NAME COMMAND...: runs one check (a shell function) and reports it.
check() {
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then
		echo "[PASS] service::$name"
		passed=$((passed + 1))
	else
		echo "[FAIL] service::$name"
		printf '%s\n' "$out" | sed 's/^/[----]   /'
		failed=$((failed + 1))
	fi
}
skip() {
	echo "[SKIP] service::$1: $2"
	skipped=$((skipped + 1))
}
# fail MESSAGE...: ends the check (each runs in a subshell of its own) with these lines.
fail() {
	printf '%s\n' "$@"
	exit 1
}

# ---- make install ------------------------------------------------------------------------------

dest=$tmp/dest
expected_files="usr/local/bin/chat
usr/local/etc/chatd/chatd.conf
usr/local/lib/systemd/system/chatd.service
usr/local/sbin/chatd
usr/local/share/man/man1/chat.1
usr/local/share/man/man8/chatd.8"

install_puts_every_file_in_place() {
	$MAKE --no-print-directory install DESTDIR="$dest" >/dev/null || fail "make install failed"
	local files
	files=$(cd "$dest" && find . -type f | sed 's|^\./||' | sort)
	[ "$files" = "$expected_files" ] || fail "installed:" "$files" "expected:" "$expected_files"
	for f in usr/local/sbin/chatd usr/local/bin/chat; do
		[ "$(stat -c %a "$dest/$f")" = 755 ] || fail "$f is not mode 755"
	done
	for f in usr/local/etc/chatd/chatd.conf usr/local/lib/systemd/system/chatd.service \
		usr/local/share/man/man1/chat.1 usr/local/share/man/man8/chatd.8; do
		[ "$(stat -c %a "$dest/$f")" = 644 ] || fail "$f is not mode 644"
	done
	cmp -s dist/chatd.conf "$dest/usr/local/etc/chatd/chatd.conf" || fail "chatd.conf differs"
	"$dest/usr/local/sbin/chatd" --version | grep -q '^chatd ' || fail "the installed chatd does not run"
}

unit_names_the_installed_paths() {
	local unit=$dest/usr/local/lib/systemd/system/chatd.service
	grep -qx 'ExecStart=/usr/local/sbin/chatd --config /usr/local/etc/chatd/chatd.conf' "$unit" ||
		fail "ExecStart: $(grep ExecStart= "$unit")"
	! grep -n '@[A-Z]*@' "$unit" || fail "a placeholder is left"
	local usr=$tmp/usr
	$MAKE --no-print-directory install DESTDIR="$usr" PREFIX=/usr >/dev/null || fail "make install PREFIX=/usr failed"
	grep -qx 'ExecStart=/usr/sbin/chatd --config /etc/chatd/chatd.conf' \
		"$usr/usr/lib/systemd/system/chatd.service" || fail "PREFIX=/usr: the configuration is in /etc"
	[ -f "$usr/etc/chatd/chatd.conf" ] || fail "PREFIX=/usr: no /etc/chatd/chatd.conf"
}

install_keeps_an_edited_configuration() {
	local conf=$dest/usr/local/etc/chatd/chatd.conf
	echo "port 2121" >>"$conf"
	$MAKE --no-print-directory install DESTDIR="$dest" >/dev/null || fail "make install failed"
	tail -n 1 "$conf" | grep -qx "port 2121" || fail "the operator's line is gone"
}

uninstall_removes_all_but_the_configuration() {
	local d=$tmp/un
	$MAKE --no-print-directory install DESTDIR="$d" >/dev/null &&
		$MAKE --no-print-directory uninstall DESTDIR="$d" >/dev/null || fail "make install/uninstall failed"
	local files
	files=$(cd "$d" && find . -type f | sed 's|^\./||')
	[ "$files" = "usr/local/etc/chatd/chatd.conf" ] || fail "left: $files"
}

check install_puts_every_file_in_place install_puts_every_file_in_place
check unit_names_the_installed_paths unit_names_the_installed_paths
check install_keeps_an_edited_configuration install_keeps_an_edited_configuration
check uninstall_removes_all_but_the_configuration uninstall_removes_all_but_the_configuration

# ---- the systemd unit --------------------------------------------------------------------------

# Installed without DESTDIR into a temporary PREFIX, so that the unit's ExecStart is a real file
# and its Documentation= (man:chatd(8)) is found through MANPATH: the unit as installed is verified.
prefix=$tmp/prefix
unit=$prefix/lib/systemd/system/chatd.service

unit_passes_systemd_analyze_verify() {
	$MAKE --no-print-directory install PREFIX="$prefix" >/dev/null || fail "make install PREFIX failed"
	local out
	out=$(MANPATH=$prefix/share/man systemd-analyze verify "$unit" 2>&1)
	local rc=$?
	[ $rc = 0 ] && [ -z "$out" ] || fail "systemd-analyze verify: exit $rc:" "$out"
}

unit_has_the_service_settings() {
	local want=(
		"Type=notify" "ExecReload=/bin/kill -HUP \$MAINPID" "DynamicUser=yes"
		"StateDirectory=chatd" "LimitNOFILE=65536" "NoNewPrivileges=yes" "ProtectSystem=strict"
		"ProtectHome=yes" "PrivateTmp=yes" "PrivateDevices=yes"
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" "MemoryDenyWriteExecute=yes"
		"ProtectKernelTunables=yes" "ProtectKernelModules=yes" "ProtectControlGroups=yes"
		"RestrictNamespaces=yes" "LockPersonality=yes" "RestrictRealtime=yes"
		"SystemCallArchitectures=native" "CapabilityBoundingSet=")
	local missing=0
	for line in "${want[@]}"; do
		grep -qxF "$line" "$unit" || { echo "missing: $line"; missing=1; }
	done
	return $missing
}

# systemd's own measure of what the sandbox leaves open: 0 (all closed) to 10; "OK" is below 2.
unit_exposure_is_ok() {
	local out
	out=$(systemd-analyze security --offline=true "$unit" 2>&1 | grep 'Overall exposure level')
	local score=${out#*: }
	score=${score%% *}
	[ -n "$score" ] || fail "no score: $out"
	awk -v s="$score" 'BEGIN { exit !(s < 2.0) }' || fail "$out"
}

if have systemd-analyze; then
	check unit_passes_systemd_analyze_verify unit_passes_systemd_analyze_verify
	check unit_has_the_service_settings unit_has_the_service_settings
	if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
		check unit_exposure_is_ok unit_exposure_is_ok
	else
		skip unit_exposure_is_ok "this systemd-analyze has no --offline (systemd < 250)"
	fi
else
	skip unit_passes_systemd_analyze_verify "systemd-analyze missing: apt-get install systemd"
fi

# ---- man pages ---------------------------------------------------------------------------------

man_pages_render_without_warnings() {
	for page in "$dest/usr/local/share/man/man8/chatd.8" "$dest/usr/local/share/man/man1/chat.1"; do
		local out
		out=$(groff -ww -man -z "$page" 2>&1) || fail "groff failed on $page"
		[ -z "$out" ] || fail "groff -ww on $page:" "$out"
		out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >"$tmp/page.txt") ||
			fail "man -l failed on $page"
		[ -z "$out" ] || fail "man --warnings -l $page:" "$out"
		grep -q '^NAME' "$tmp/page.txt" && grep -q '^SYNOPSIS' "$tmp/page.txt" ||
			fail "$page has no NAME or SYNOPSIS"
	done
}

if have groff && have man; then
	check man_pages_render_without_warnings man_pages_render_without_warnings
else
	skip man_pages_render_without_warnings "groff or man missing: apt-get install groff-base man-db"
fi

# ---- every option documented -------------------------------------------------------------------

options=$(bin/chatd --help | grep -oE '^  --[a-z-]+' | sed 's/^  --//' | grep -vxE 'help|version')

man_page_documents_every_option() {
	local missing=0
	for o in $options; do
		grep -qF -- "\\-\\-${o//-/\\-}" man/chatd.8 || { echo "man/chatd.8 lacks --$o"; missing=1; }
	done
	return $missing
}

example_config_lists_every_option() {
	local missing=0
	for o in $options; do
		# --config and --check-config belong to the command line: a file names no other file
		case $o in config | check-config) continue ;; esac
		grep -qE "^#$o( |\$)" dist/chatd.conf || { echo "dist/chatd.conf lacks #$o"; missing=1; }
	done
	return $missing
}

# Each "#name value" line of the example, given to chatd as --name value: chatd accepts every
# one (--help, last, makes it exit 0 once all of them are parsed).
example_config_values_are_accepted() {
	local args=()
	while read -r name value; do
		args+=("--$name")
		[ -n "$value" ] && args+=("$value")
	done < <(grep -E '^#[a-z][a-z-]*( |$)' dist/chatd.conf | sed 's/^#//')
	[ ${#args[@]} -gt 40 ] || fail "only ${#args[@]} words read"
	local err
	err=$(bin/chatd "${args[@]}" --help 2>&1 >/dev/null) || fail "$(head -n 1 <<<"$err")"
}

check man_page_documents_every_option man_page_documents_every_option
check example_config_lists_every_option example_config_lists_every_option
check example_config_values_are_accepted example_config_values_are_accepted

# ---- JSON logs, read back by another parser ---------------------------------------------------

# The installed chatd, from start to stop: every line it writes is a JSON object with time,
# level and msg (python3's json module; strict: no NaN, no control characters in strings).
json_logs_parse_with_python() {
	local log=$tmp/chatd.log
	"$dest/usr/local/sbin/chatd" --bind 127.0.0.1 --port 0 --admin off --irc-port off --workers 2 \
		--log-format json --log-level debug 2>"$log" &
	local chatd_pid=$!
	trap "kill -KILL $chatd_pid 2>/dev/null" EXIT # whatever happens to this check
	local port=
	for _ in $(seq 100); do
		port=$(grep -oE 'listening on 127\.0\.0\.1 port [0-9]+' "$log" | grep -oE '[0-9]+$')
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || fail "chatd did not start:" "$(cat "$log")"
	printf 'hello "json"\n\x1b[31m\n' | timeout 5 bin/chat 127.0.0.1 "$port" >/dev/null
	kill -TERM "$chatd_pid"
	wait "$chatd_pid" || fail "chatd exited $?"
	python3 - "$log" <<'EOF'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[-1] == "", "the log ends with a line end"
for n, line in enumerate(lines[:-1], 1):
    obj = json.loads(line, parse_constant=lambda c: sys.exit(f"line {n}: {c}"))
    assert set(obj) >= {"time", "level", "msg"}, f"line {n}: {line}"
    assert obj["level"] in ("debug", "info", "warn", "error"), f"line {n}: {line}"
    assert set(obj) <= {"time", "level", "worker", "conn", "msg"}, f"line {n}: {line}"
msgs = [json.loads(l)["msg"] for l in lines[:-1]]
assert msgs[-1] == "stopped", msgs[-1]
assert any("ESCAPE" in m or "control" in m for m in msgs), "the refused line is logged: %r" % msgs
EOF
}

if have python3; then
	check json_logs_parse_with_python json_logs_parse_with_python
else
	skip json_logs_parse_with_python "python3 missing"
fi

echo "[====] service: $passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
