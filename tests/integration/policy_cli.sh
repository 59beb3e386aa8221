#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sphinx-policy from the outside: check (good and broken files, messages and
# exit codes), test (a small JSONL with a malformed line), list, prefixes,
# usage errors. Prints "ok N - name" / "not ok N - name", then the plan;
# exits 1 on a failure.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUTPUT=${OUTPUT:-build}
case $OUTPUT in /*) ;; *) OUTPUT=$ROOT/$OUTPUT ;; esac
TOOL=$OUTPUT/sphinx-policy
DEFAULTS=$ROOT/policy/default
TMP=$(mktemp -d /tmp/sphinx-policy-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failed=0
n_tests=0

ok() { n_tests=$((n_tests + 1)); echo "ok $n_tests - $*"; }
not_ok() { n_tests=$((n_tests + 1)); echo "not ok $n_tests - $*"; failed=$((failed + 1)); }
# expect NAME WANTED_STATUS COMMAND...: runs it, output in $TMP/out, $TMP/err.
expect() {
	local name=$1 want=$2 rc; shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "$name (exit $rc)"
	else
		not_ok "$name (exit $rc, wanted $want)"
		sed 's/^/# /' "$TMP/out" "$TMP/err"
	fi
}
# has NAME FILE TEXT: FILE contains the line TEXT exactly.
has() {
	if grep -qxF -- "$3" "$2"; then ok "$1"; else not_ok "$1"; echo "# wanted: $3"; sed 's/^/# got: /' "$2"; fi
}

if [ ! -x "$TOOL" ]; then
	not_ok "sphinx-policy is built ($TOOL)"
	echo "1..$n_tests"
	exit 1
fi

# ------------------------------------------------------------------ check
expect "check the default policy" 0 "$TOOL" check "$DEFAULTS"
n=$(find "$DEFAULTS" -name '*.yml' -exec grep -c '^id:' {} + | awk -F: '{s += $NF} END {print s}')
has "check counts every default rule" "$TMP/out" "$DEFAULTS: $n rules OK"

cat >"$TMP/broken.yml" <<'EOF'
id: t.broken
title: Broken
levle: high
logsource:
  category: process_creation
detection:
  selection:
    Image|endwith: /ffmpeg
  condition: selction
EOF
expect "check a broken file fails" 1 "$TOOL" check "$TMP/broken.yml"
has "unknown key named with line:col and a suggestion" "$TMP/err" \
	"$TMP/broken.yml:3:1: unknown key 'levle' (did you mean 'level'?)"
has "unknown modifier named at its column" "$TMP/err" \
	"$TMP/broken.yml:8:11: unknown modifier 'endwith' (did you mean 'endswith'?)"
has "unknown selection named inside the condition" "$TMP/err" \
	"$TMP/broken.yml:9:14: condition: unknown selection 'selction' (did you mean 'selection'?)"
if [ ! -s "$TMP/out" ]; then ok "nothing on stdout for a broken file"; else not_ok "nothing on stdout for a broken file"; fi

printf 'id: t.yaml\ntitle: [oops\n' >"$TMP/syntax.yml"
expect "check a YAML syntax error fails" 1 "$TOOL" check "$TMP/syntax.yml"
if grep -q "^$TMP/syntax.yml:[0-9]*:[0-9]*: YAML syntax error: " "$TMP/err"; then
	ok "YAML syntax error has file:line:col"
else
	not_ok "YAML syntax error has file:line:col"
fi

expect "check several paths: one bad one fails all" 1 "$TOOL" check "$DEFAULTS" "$TMP/broken.yml"
has "the good path is still reported" "$TMP/out" "$DEFAULTS: $n rules OK"
expect "check a missing file" 1 "$TOOL" check "$TMP/missing.yml"
has "missing file message" "$TMP/err" "$TMP/missing.yml: cannot read: No such file or directory"

# ------------------------------------------------------------------- test
cat >"$TMP/events.jsonl" <<'EOF'
{"category":"process_creation","fields":{"Image":"/usr/bin/ffmpeg","CommandLine":"ffmpeg -f x11grab -i :0 out.mkv"}}
{"category":"process_creation","fields":{"Image":"/usr/bin/ffmpeg","CommandLine":"ffmpeg -i in.mp4 out.mkv"}}

{"category":"process_creation","fields":{"Image":"/usr/bin/xwd","CommandLine":"xwd -root -silent"}}
this is not json
{"category":"screen_capture","fields":{"Api":"XShmGetImage","Target":"root","Calls":"3"},"ts":123}
{"category":"telepathy","fields":{}}
{"category":"file_access","fields":{"TargetFilename":"/dev/dri/card0","Operation":"open","Image":"/usr/bin/Xvfb"}}
EOF
expect "test reports malformed lines" 1 "$TOOL" test "$DEFAULTS" "$TMP/events.jsonl"
has "ffmpeg x11grab fires" "$TMP/out" \
	'1: process_creation sphinx.exec.ffmpeg-screen-grab "FFmpeg grabbing the screen (x11grab, kmsgrab or fbdev)" kind=recording level=high'
has "ffmpeg transcoding does not" "$TMP/out" "2: process_creation no match"
has "xwd -root is a screenshot" "$TMP/out" \
	'4: process_creation sphinx.exec.xwd-root "xwd dumping the whole screen (-root)" kind=screenshot level=medium'
has "root grab is kind auto" "$TMP/out" \
	'6: screen_capture sphinx.api.grab-root "Image of the whole screen read or copied (root window)" kind=auto level=high'
has "Xvfb opening the DRM card is no capture" "$TMP/out" "8: file_access no match"
has "bad JSON named by line" "$TMP/err" \
	"$TMP/events.jsonl:5: invalid JSON at column 4: '[' or '{' expected near 'this'"
has "bad category named by line" "$TMP/err" \
	"$TMP/events.jsonl:7: unknown category 'telepathy' (expected process_creation, file_access or screen_capture)"
has "summary line (malformed lines count as events)" "$TMP/out" "7 events, 3 matched, 2 errors"

grep -v 'not json\|telepathy' "$TMP/events.jsonl" >"$TMP/clean.jsonl"
expect "test with clean events succeeds" 0 "$TOOL" test "$DEFAULTS" "$TMP/clean.jsonl"
has "clean summary" "$TMP/out" "5 events, 3 matched, 0 errors"
has "per-rule summary after the totals" "$TMP/out" "rule sphinx.exec.xwd-root: fired on 1 event"
expect "test reads events from stdin" 0 bash -c "'$TOOL' test '$DEFAULTS' - <'$TMP/clean.jsonl'"
expect "test with a broken policy fails" 1 "$TOOL" test "$TMP/broken.yml" "$TMP/clean.jsonl"

# Every matching rule is shown, the one the agent acts on first.
cat >"$TMP/two.yml" <<'EOF'
id: t.first
title: First
level: low
logsource: {category: process_creation}
detection: {s: {Image|endswith: /ffmpeg}, condition: s}
---
id: t.second
title: Second
level: high
logsource: {category: process_creation}
detection: {s: {CommandLine|contains: x11grab}, condition: s}
EOF
expect "test with two matching rules" 0 "$TOOL" test "$TMP/two.yml" "$TMP/clean.jsonl"
if [ "$(grep -c '^1: ' "$TMP/out")" -eq 2 ] && head -1 "$TMP/out" | grep -q '^1: process_creation t.second '; then
	ok "all matches listed, best first"
else
	not_ok "all matches listed, best first"
	sed 's/^/# /' "$TMP/out"
fi

# ------------------------------------------------------------------- list
expect "list the default policy" 0 "$TOOL" list "$DEFAULTS"
if [ "$(($(wc -l <"$TMP/out") - 1))" -eq "$n" ]; then ok "list has a header and one line per rule"; else not_ok "list has a header and one line per rule"; fi
if grep -qE '^sphinx\.exec\.xwd-root +process_creation +screenshot +medium +xwd dumping the whole screen \(-root\)$' "$TMP/out"; then
	ok "list shows id, category, kind, level, title"
else
	not_ok "list shows id, category, kind, level, title"
fi

expect "prefixes of the default policy" 0 "$TOOL" prefixes "$DEFAULTS"
if [ "$(tr '\n' ' ' <"$TMP/out")" = "/dev/fb /dev/dri/card " ]; then ok "prefixes are /dev/fb and /dev/dri/card"; else not_ok "prefixes are /dev/fb and /dev/dri/card"; fi

# ------------------------------------------------------------ SigmaHQ rules
# The upstream files as they are (tests/policy-sigma/README.md): they load,
# the two whose log source the agent lacks say what they need, and an
# auditd rule fires on the argv of a recorded event.
SIGMA=$ROOT/tests/policy-sigma
expect "check the SigmaHQ rule files" 0 "$TOOL" check "$SIGMA"
has "SigmaHQ files: every rule loads" "$TMP/out" "$SIGMA: 12 rules OK"
has "SigmaHQ files: a SYSCALL rule loads but says it never fires" "$TMP/out" \
	"$SIGMA/lnx_auditd_create_account.yml:1: 759d0d51-bc99-4b5e-9add-8f5b2c8e7512 loaded, never fires: needs auditd SYSCALL records"
has "SigmaHQ files: a file_event rule loads but says it never fires" "$TMP/out" \
	"$SIGMA/file_event_lnx_doas_conf_creation.yml:1: 00eee2a5-fdb0-4746-a21d-e43fbdea5681 loaded, never fires: needs category 'file_event'"
if [ ! -s "$TMP/err" ]; then ok "SigmaHQ files: nothing on stderr"; else not_ok "SigmaHQ files: nothing on stderr"; fi
expect "list the SigmaHQ rule files" 0 "$TOOL" list "$SIGMA"
if grep -qE '^00eee2a5-fdb0-4746-a21d-e43fbdea5681 +- +auto +medium +Linux Doas Conf File Creation$' "$TMP/out"; then
	ok "list shows '-' as the category of a rule that never fires"
else
	not_ok "list shows '-' as the category of a rule that never fires"; sed 's/^/# /' "$TMP/out"
fi
cat >"$TMP/xwd.jsonl" <<'EOF'
{"category":"process_creation","fields":{"Image":"/usr/bin/xwd","CommandLine":"xwd -root -out s.xwd"},"argv":["xwd","-root","-out","s.xwd"]}
{"category":"process_creation","fields":{"Image":"/usr/bin/xwd","CommandLine":"xwd -root -out s.png"},"argv":["xwd","-root","-out","s.png"]}
{"category":"process_creation","fields":{"Image":"/usr/bin/xwd"},"argv":"xwd -root"}
EOF
expect "test the xwd rule on recorded execs (one bad line)" 1 "$TOOL" test "$SIGMA/lnx_auditd_screencaputre_xwd.yml" "$TMP/xwd.jsonl"
has "xwd -root -out s.xwd fires the auditd rule" "$TMP/out" \
	'1: process_creation e2f17c5d-b02a-442b-9052-6eb89c9fec9c "Screen Capture with Xwd" kind=auto level=low'
has "xwd -root -out s.png does not" "$TMP/out" "2: process_creation no match"
has "argv that is not an array is named" "$TMP/err" "$TMP/xwd.jsonl:3: 'argv' must be an array of strings"

# ------------------------------------------------------------------ usage
expect "--help" 0 "$TOOL" --help
if grep -q '^Usage: sphinx-policy' "$TMP/out"; then ok "--help prints usage on stdout"; else not_ok "--help prints usage on stdout"; fi
expect "help after a command" 0 "$TOOL" check --help
expect "no command" 2 "$TOOL"
expect "unknown command" 2 "$TOOL" frobnicate
expect "unknown option" 2 "$TOOL" --frobnicate
expect "check without paths" 2 "$TOOL" check
expect "test with one argument" 2 "$TOOL" test "$DEFAULTS"
expect "test --server without --token-file" 2 "$TOOL" test "$DEFAULTS" --server http://127.0.0.1:9
expect "test --since without --server" 2 "$TOOL" test "$DEFAULTS" "$TMP/clean.jsonl" --since 7d
expect "test --server with another scheme" 2 "$TOOL" test "$DEFAULTS" --server ftp://x --token-file /dev/null
printf 'not-a-real-session\n' >"$TMP/token"
expect "test --server that cannot be reached" 1 "$TOOL" test "$DEFAULTS" --server http://127.0.0.1:9 --token-file "$TMP/token"
has "the unreachable server is named" "$TMP/err" "sphinx-policy: http://127.0.0.1:9/api/admin/observations?after=0: Couldn't connect to server"
expect "test --token-file that does not exist" 1 "$TOOL" test "$DEFAULTS" --server http://127.0.0.1:9 --token-file "$TMP/none"
has "the missing token file is named" "$TMP/err" "sphinx-policy: --token-file $TMP/none: No such file or directory"
expect "list with two arguments" 2 "$TOOL" list "$DEFAULTS" "$DEFAULTS"

echo "1..$n_tests"
[ "$failed" -eq 0 ]
