#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The wire protocols' contract: common/proto_ws.h, proto_lobby.h and
# proto_agent.h are the source of truth. Checks that the web app's
# generated constants (server/web/js/proto.js) are what
# scripts/gen-proto-js.sh makes from the headers today; that the generator
# refuses what is not a plain value; that no C or JS user of a protocol
# writes a close code, the version, or the chat limit as a literal of its
# own; and that docs/protocol.md names every message type and close code
# the headers define.
set -u
cd "$(dirname "$0")/../.."
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; [ -n "${2:-}" ] && printf '# %s\n' "${2//$'\n'/$'\n# '}"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
HEADERS="common/proto_ws.h common/proto_lobby.h common/proto_agent.h"

# 1. the committed JS module is the generator's output
if scripts/gen-proto-js.sh common/proto_ws.h common/proto_lobby.h >"$tmp/proto.js" 2>"$tmp/err" &&
   diff -u server/web/js/proto.js "$tmp/proto.js" >"$tmp/diff"; then
	ok "server/web/js/proto.js equals scripts/gen-proto-js.sh's output (make proto-js)"
else
	nok "server/web/js/proto.js is out of date: run make proto-js" "$(cat "$tmp/err"; head -12 "$tmp/diff")"
fi

# 2. the module loads and carries the values the browser relies on
if out=$(node --input-type=module -e "
	import * as p from '$PWD/server/web/js/proto.js';
	console.log([p.VERSION, p.F_VERSION, p.CHAT_MAX, p.CLOSE_BANNED, p.CLOSE_MEETING_ENDED, p.MSG_PING].join(' '));" 2>&1) &&
   want="$(sed -n 's/^#define PROTO_LOBBY_VERSION \([0-9]*\).*/\1/p' common/proto_lobby.h) v $(sed -n 's/^#define PROTO_LOBBY_CHAT_MAX \([0-9]*\).*/\1/p' common/proto_lobby.h) 4003 4410 ping" &&
   [ "$out" = "$want" ]; then
	ok "proto.js imports as an ES module with the headers' values ($out)"
else
	nok "proto.js does not import, or its values differ from the headers" "got: $out; want: ${want:-?}"
fi

# 3. the generator is strict: a computed value or a name defined twice is an error naming file:line
printf '#define PROTO_T_OK 1\n#define PROTO_T_BAD (1 << 3)\n' >"$tmp/bad.h"
if ! scripts/gen-proto-js.sh "$tmp/bad.h" >/dev/null 2>"$tmp/err" && grep -q "bad.h:2: PROTO_T_BAD: value must be" "$tmp/err"; then
	ok "generator refuses a value that is not a number or a plain string, naming file:line"
else
	nok "generator accepted a computed value" "$(cat "$tmp/err")"
fi
printf '#define PROTO_A_X 1\n' >"$tmp/a.h"
printf '#define PROTO_B_X 2\n' >"$tmp/b.h"
if ! scripts/gen-proto-js.sh "$tmp/a.h" "$tmp/b.h" >/dev/null 2>"$tmp/err" && grep -q "b.h:1: PROTO_B_X: X is already defined at .*a.h:1" "$tmp/err"; then
	ok "generator refuses two headers exporting the same JS name"
else
	nok "generator accepted a JS name defined twice" "$(cat "$tmp/err")"
fi

# Code only: drop // comments, one-line /* */ comments and comment continuation lines.
code_of() { sed -E 's://.*$::; s:/\*.*\*/::g; /^[[:space:]]*(\*|\/\*)/d' "$1"; }
# ... and without string literals' contents (a config key's help text may quote a code)
numbers_of() { code_of "$1" | sed -E 's/"([^"\\]|\\.)*"/""/g'"; s/'([^'\\]|\\.)*'/''/g"; }
users_c=$(ls server/*.c server/*.h agent/uplink.c)
users_js=$(find server/web/js -name '*.js' ! -name proto.js)

# 4. close codes: each defined once, in a header, used by name everywhere else
codes=$(sed -nE 's/^#define PROTO_[A-Z]+_CLOSE_[A-Z_]+[[:space:]]+([0-9]+).*/\1/p' $HEADERS | sort -u)
[ "$(echo "$codes" | wc -w)" -ge 9 ] || nok "the headers define the close codes" "found: $codes"
stray=""
for f in $users_c $users_js; do
	for c in $codes; do
		hits=$(numbers_of "$f" | grep -nE "(^|[^0-9.])$c([^0-9]|$)") && stray+="$f: $c: $hits"$'\n'
	done
done
if [ -z "$stray" ]; then
	ok "no close code ($(echo $codes)) written as a number outside common/proto_*.h"
else
	nok "close codes written as numbers outside the headers" "$stray"
fi

# 5. the version and the chat limit likewise
stray=$(for f in $users_c; do code_of "$f" | grep -nE '"v", *[0-9]|CHAT_MAX[[:space:]]+[0-9]|"v":[0-9]' | sed "s|^|$f:|"; done
	for f in $users_js; do code_of "$f" | grep -nE '\bv: *[0-9]|CHAT_MAX *= *[0-9]|\b4000\b' | sed "s|^|$f:|"; done)
if [ -z "$stray" ]; then
	ok "no protocol version or chat limit written as a literal outside the headers"
else
	nok "version or chat limit written as a literal outside the headers" "$stray"
fi

# 6. docs/protocol.md names every message type and close code, and the headers as the source
missing=""
for t in $(sed -nE 's/^#define PROTO_[A-Z]+_(MSG|EV)_[A-Z_]+[[:space:]]+"([^"]+)".*/\2/p' $HEADERS | sort -u); do
	grep -qF "\`$t\`" docs/protocol.md || grep -qF "\"type\":\"$t\"" docs/protocol.md || missing+=" type:$t"
done
for c in $codes; do
	grep -qF "**$c**" docs/protocol.md || grep -qE "^\| $c \|" docs/protocol.md || missing+=" close:$c"
done
for h in $HEADERS; do
	grep -qF "$h" docs/protocol.md || missing+=" header:$h"
done
if [ -z "$missing" ]; then
	ok "docs/protocol.md names every message type and close code of the headers, and the headers"
else
	nok "docs/protocol.md misses what the headers define" "$missing"
fi

echo "1..$n"
exit $fail
