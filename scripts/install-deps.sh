#!/bin/sh
# install-deps.sh WHAT... - make sure a build or test dependency is present.
#   criterion   the criterion test library (Debian: libcriterion-dev)
#   fuzzer      clang with libFuzzer (Debian: clang, libclang-rt-14-dev)
#   lint        clang-tidy, cppcheck and clang-format (Debian: packages of those names)
#   redis       redis-server, which the Redis tests start on loopback (Debian: redis-server)
#   service     systemd-analyze, man and groff, which tests/service.sh checks the installed unit
#               and man pages with (Debian: systemd, man-db, groff-base)
#   haproxy     haproxy, which the PROXY protocol tests put in front of chatd (Debian: haproxy)
#   ii          ii, the IRC client tests/ii.sh drives through its files (Debian: ii)
#   weechat     WeeChat without its terminal UI, which tests/weechat.sh drives through its FIFO
#               (Debian: weechat-headless)
#   nginx       nginx, which make test-tls runs in front of chatd (Debian: nginx; the package's
#               own service is never used)
#   openssl     openssl, which makes make test-tls's self-signed certificate (Debian: openssl)
# Installs with apt-get when running as root; otherwise prints the exact command and fails.
set -e

have_fuzzer() {
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' |
		clang -fsanitize=fuzzer -x c - -o /dev/null >/dev/null 2>&1
}

have_criterion() {
	printf '#include <criterion/criterion.h>\n' | ${CC:-cc} -E -x c - >/dev/null 2>&1
}

need_apt() {
	pkg=$1
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "install-deps: installing $pkg with apt-get" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >/dev/null 2>&1 || {
			apt-get update >/dev/null 2>&1
			DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >/dev/null
		}
	else
		echo "install-deps: $pkg is missing. Install it with:" >&2
		echo "    sudo apt-get install -y $pkg" >&2
		exit 1
	fi
}

for what in "$@"; do
	case $what in
	criterion) have_criterion || need_apt libcriterion-dev ;;
	fuzzer) have_fuzzer || { need_apt clang; have_fuzzer || need_apt libclang-rt-14-dev; } ;;
	redis) command -v redis-server >/dev/null 2>&1 || need_apt redis-server ;;
	service)
		command -v systemd-analyze >/dev/null 2>&1 || need_apt systemd
		command -v man >/dev/null 2>&1 || need_apt man-db
		command -v groff >/dev/null 2>&1 || need_apt groff-base
		;;
	haproxy) command -v haproxy >/dev/null 2>&1 || need_apt haproxy ;;
	ii) command -v ii >/dev/null 2>&1 || need_apt ii ;;
	weechat) command -v weechat-headless >/dev/null 2>&1 || need_apt weechat-headless ;;
	nginx) command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt nginx ;;
	openssl) command -v openssl >/dev/null 2>&1 || need_apt openssl ;;
	lint)
		for tool in clang-tidy cppcheck clang-format; do
			command -v $tool >/dev/null 2>&1 || need_apt $tool
		done
		;;
	*) echo "install-deps: unknown dependency '$what'" >&2; exit 2 ;;
	esac
done
