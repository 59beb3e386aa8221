#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# scripts/checksrc: a file breaking each rule is reported at the right line
# with the rule's name and exit 1; a file that follows them all passes; the
# line limit follows the tree (100 in agent/, 120 in server/); and the
# tree itself passes (`make checksrc` is this last test, run in CI).
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
CHECKSRC=$ROOT/scripts/checksrc
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; [ -n "${2:-}" ] && printf '# %s\n' "$2"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/agent" "$tmp/server"
cd "$tmp"

long100=$(printf 'int x%0100d;' 0)	# 106 columns
printf '%s\n' \
	'/* no licence line */' \
	'int f(void)' \
	'{' \
	'	int x = atoi("1"); ' \
	'        return x;' \
	' 	if(x)' \
	'	{' \
	'		x++; // bump' \
	'	}' \
	'	else {' \
	'		x--;' \
	'	}' \
	'	typedef struct foo foo_t;' \
	"$long100" \
	'}' \
	'' >agent/bad.c
out=$(perl "$CHECKSRC" agent/bad.c 2>&1); rc=$?
if [ $rc -eq 1 ]; then ok "offences: exit status 1"; else nok "offences: exit status 1" "got $rc"; fi
expect() { # LINE RULE
	if grep -q "^agent/bad.c:$1:[0-9]*: .*\[$2\]$" <<<"$out"; then ok "$2 at line $1"; else nok "$2 at line $1" "$out"; fi
}
expect 1 SPDX
expect 4 BANNED
expect 4 TRAILINGSPACE
expect 5 INDENT
expect 6 INDENT
expect 6 KEYWORDSPACE
expect 7 BRACEPOS
expect 8 CPPCOMMENT
expect 10 ELSEPOS
expect 13 TYPEDEFSTRUCT
expect 14 LONGLINE
expect 16 EOFNEWLINE
if [ "$(grep -c '\[' <<<"$out")" -eq 12 ]; then ok "nothing else reported"; else nok "nothing else reported" "$out"; fi

# Text inside strings and comments is not code; 106 columns are fine in server/.
printf '%s\n' \
	'// SPDX-License-Identifier: GPL-2.0-only' \
	'/* if(x) sprintf( // in a comment */' \
	'static const char *u = "http://example.org/ if( strcpy(";' \
	'int g(int x)' \
	'{' \
	'	if (x) {' \
	'		x++;' \
	'	} else {' \
	'		x--;' \
	'	}' \
	'	for (;;)' \
	'		break;' \
	'	return x;' \
	'}' \
	"$long100" >server/good.c
out=$(perl "$CHECKSRC" server/good.c 2>&1); rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then ok "a clean file passes (strings and comments ignored, 120 columns in server/)"; else nok "a clean file passes" "$out"; fi
out=$(cd "$ROOT" && perl scripts/checksrc 2>&1); rc=$?
if [ $rc -eq 0 ]; then ok "the tree passes checksrc"; else nok "the tree passes checksrc" "$(printf '%s\n' "$out" | sed -n '1,40p' | tr '\n' '|')"; fi
echo "1..$n"
exit $fail
