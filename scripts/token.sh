#!/usr/bin/env bash
# token.sh - mints a JWT for chatd's --auth-secret, for trying it by hand: HS256, claims
# {"sub": NAME, "exp": now + TTL}. Prints the token on stdout.
#
# Usage: scripts/token.sh NAME [SECRET_FILE] [TTL_SECONDS]
#   SECRET_FILE  default: $CHATD_AUTH_SECRET, or else ./chatd.secret. The key is the file's
#                bytes less one final line ending (LF or CRLF), as chatd reads it; at least
#                32 bytes (RFC 7518 section 3.2). Make one with:
#                    openssl rand -hex 32 > chatd.secret
#   TTL_SECONDS  default 3600.
# Then: nc localhost 2020, and type /auth TOKEN; or open /ws?token=TOKEN.
#
# Needs bash, openssl and coreutils. The key never goes on a command line (where ps would
# show it): HMAC (RFC 2104) is computed here from two SHA-256 runs of `openssl dgst` fed on
# stdin, with the key's pads held in shell variables.
set -euo pipefail

die() {
	echo "token.sh: $*" >&2
	exit 1
}

[ $# -ge 1 ] && [ $# -le 3 ] || die "usage: token.sh NAME [SECRET_FILE] [TTL_SECONDS]"
name=$1
secret=${2:-${CHATD_AUTH_SECRET:-chatd.secret}}
ttl=${3:-3600}
[[ $ttl =~ ^[0-9]+$ ]] || die "TTL_SECONDS must be a whole number of seconds"
[ -n "$name" ] || die "NAME is empty"
[[ $name =~ [[:cntrl:]] ]] && die "NAME has a control character"
[ -r "$secret" ] || die "cannot read the secret file $secret"
command -v openssl >/dev/null || die "needs openssl"

# hex of a file's first $2 bytes (od -v: no '*' for repeated lines)
hex_of() { head -c "$2" "$1" | od -An -v -tx1 | tr -d ' \n'; }
# hex of stdin's SHA-256
sha256_hex() { openssl dgst -sha256 -binary | od -An -v -tx1 | tr -d ' \n'; }
# the bytes of a hex string, on stdout
bytes_of() { printf '%b' "$(printf '%s' "$1" | sed 's/../\\x&/g')"; }
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# the key: the file less one final LF or CRLF
size=$(wc -c <"$secret")
if [ "$size" -gt 0 ] && [ "$(tail -c 1 "$secret" | od -An -tx1 | tr -d ' ')" = 0a ]; then
	size=$((size - 1))
	if [ "$size" -gt 0 ] && [ "$(hex_of "$secret" "$size" | tail -c 2)" = 0d ]; then
		size=$((size - 1))
	fi
fi
[ "$size" -ge 32 ] || die "the key in $secret is $size bytes; HS256 wants at least 32"
key=$(hex_of "$secret" "$size")
# RFC 2104: a key longer than the block (64 bytes) is hashed first; then zero-padded
[ "$size" -gt 64 ] && key=$(bytes_of "$key" | sha256_hex)
while [ ${#key} -lt 128 ]; do key+=00; done

# K xor ipad, K xor opad
ipad= opad=
for ((i = 0; i < 128; i += 2)); do
	b=$((16#${key:i:2}))
	ipad+=$(printf '%02x' $((b ^ 0x36)))
	opad+=$(printf '%02x' $((b ^ 0x5c)))
done
key=

json_name=$(printf '%s' "$name" | sed 's/\\/\\\\/g; s/"/\\"/g')
exp=$(($(date +%s) + ttl))
header=$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64url)
payload=$(printf '{"sub":"%s","exp":%d}' "$json_name" "$exp" | b64url)
signing_input="$header.$payload"

inner=$({ bytes_of "$ipad"; printf '%s' "$signing_input"; } | sha256_hex)
sig=$({ bytes_of "$opad"; bytes_of "$inner"; } | openssl dgst -sha256 -binary | b64url)
printf '%s.%s\n' "$signing_input" "$sig"
