#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/run judged by its own arithmetic: tiny fake TAP producers (a crash
# after two "ok" lines, a plan of 5 with one "ok" and exit 0, a clean file,
# an unnumbered one, a file without a plan, a hang...) run through tests/run
# in a scratch tree; every missing test must be a failure, named, a crash
# must count even after its "not ok" lines, the suites are named and the
# last line is exactly "N passed, N failed". Also lib.bash's run_tap and
# stop_agent against fake producers and a fake agent.
source "$(dirname "$0")/lib.bash"

OUT=$TMP/out
INT=$TMP/integration
mkdir -p "$OUT/tests" "$INT"

# fake NAME BODY: an executable "unit test" printing BODY (a shell script).
fake() {
	printf '#!/bin/bash\n%s\n' "$2" >"$OUT/tests/$1"
	chmod +x "$OUT/tests/$1"
}
fake test_crash 'echo 1..5; echo "ok 1 - a"; echo "ok 2 - b"; kill -SEGV $$'
fake test_short 'echo 1..5; echo "ok 1 - only one"; exit 0'
fake test_good 'echo 1..3; echo "ok 1 - a"; echo "ok 2 - b"; echo "ok 3 - c"'
fake test_trailing 'echo "ok - a"; echo "ok - b"; echo 1..2'
fake test_noplan 'echo "ok - a"; echo "ok - b"'
fake test_fail_then_crash 'echo 1..3; echo "not ok 1 - a"; kill -ABRT $$'
fake test_exit_nonzero 'echo 1..1; echo "ok 1 - a"; exit 3'
fake test_dup 'echo 1..2; echo "ok 1 - a"; echo "ok 1 - a again"; echo "ok 2 - b"'
fake test_extra 'echo 1..1; echo "ok 1 - a"; echo "ok 2 - b"'
fake test_hang 'echo 1..1; echo "ok 1 - a"; sleep 60'
fake test_fuzz_seeds 'echo "ok 1 - seed-a"; echo "ok 2 - seed-b"; echo 1..2'
cat >"$INT/good.sh" <<'SH'
source "$LIB"
ok "first"
ok "second"
finish
SH
cat >"$INT/unbound.sh" <<'SH'
source "$LIB"
ok "first"
echo "$no_such_variable"
ok "never reached"
finish
SH

(cd "$ROOT" && OUTPUT=$OUT INTEGRATION_DIR=$INT LIB=$ROOT/tests/integration/lib.bash TEST_TIMEOUT=3 \
	SANITIZER_OUTPUT= tests/run) >"$TMP/run.out" 2>&1
rc=$?
sed 's/^/# | /' "$TMP/run.out"
has() { grep -qxF -- "$1" "$TMP/run.out"; }

check "runner: exits 1 when anything failed" [ "$rc" -eq 1 ]
check "crash after two oks: tests 3..5 named as never ran" \
	has "  unit/test_crash: test 3..5 never ran (plan 1..5)"
check "crash after two oks: the crash itself is a failure" has "  unit/test_crash: killed by signal 11"
check "plan 1..5, one ok, exit 0: tests 2..5 never ran" has "  unit/test_short: test 2..5 never ran (plan 1..5)"
check "no plan: a failure" has "  unit/test_noplan: no plan (1..N): it stopped before its end, or prints none"
check "not ok, then a crash: both counted" \
	bash -c "grep -qxF '  unit/test_fail_then_crash: not ok 1 - a' '$TMP/run.out' &&
		 grep -qxF '  unit/test_fail_then_crash: killed by signal 6' '$TMP/run.out'"
check "non-zero exit with every test ok: a failure" \
	has "  unit/test_exit_nonzero: exited 3 without a failing test"
check "a test number reported twice: a failure" has "  unit/test_dup: test 1 reported twice"
check "a test outside the plan: a failure" has "  unit/test_extra: test 2 is outside the plan 1..1"
check "a hang: timed out" has "  unit/test_hang: timed out after 3 s"
check "a script stopped by set -u: no plan, test 2 never counted" \
	has "  integration/unbound.sh: no plan (1..N): it stopped before its end, or prints none"
check "clean files raise no failure" bash -c "! grep -E '^  (unit/test_(good|trailing)|integration/good.sh):' '$TMP/run.out'"
# passed: crash 2, short 1, good 3, trailing 2, noplan 2, exit_nonzero 1,
# dup 3, extra 2, hang 1 (unit: 17); fuzz 2; good.sh 2, unbound.sh 1 (3).
# failed: crash 3+1, short 4, noplan 1, fail_then_crash 1+2+1 (tests 2..3
# never ran), exit_nonzero 1, dup 1, extra 1, hang 1 (unit: 17); unbound 1.
check "suites named and counted apart" \
	bash -c "grep -qE '^  unit +17 passed, 17 failed$' '$TMP/run.out' &&
		 grep -qE '^  fuzz-replay +2 passed, 0 failed$' '$TMP/run.out' &&
		 grep -qE '^  integration +3 passed, 1 failed$' '$TMP/run.out'"
check "the last line is exactly 'N passed, N failed'" [ "$(tail -n 1 "$TMP/run.out")" = "22 passed, 18 failed" ]

# A clean run passes.
rm -f "$OUT"/tests/test_* "$INT/unbound.sh"
fake test_good 'echo 1..3; echo "ok 1 - a"; echo "ok 2 - b"; echo "ok 3 - c"'
(cd "$ROOT" && OUTPUT=$OUT INTEGRATION_DIR=$INT LIB=$ROOT/tests/integration/lib.bash SANITIZER_OUTPUT= tests/run) \
	>"$TMP/run2.out" 2>&1
check "a clean run exits 0 with '5 passed, 0 failed'" \
	[ $? -eq 0 -a "$(tail -n 1 "$TMP/run2.out")" = "5 passed, 0 failed" ]

# run_tap folds another producer's TAP into this script's and checks its plan.
cat >"$TMP/tap_inner.sh" <<'SH'
source "$LIB"
run_tap short bash -c 'echo 1..4; echo "ok 1 - one"; echo "ok 2 - two"; exit 0'
run_tap crash bash -c 'echo 1..2; echo "ok 1 - one"; exit 1'
finish
SH
LIB=$ROOT/tests/integration/lib.bash bash "$TMP/tap_inner.sh" >"$TMP/tap.out" 2>&1
sed 's/^/# | /' "$TMP/tap.out"
check "run_tap: tests 3..4 of a short plan never ran" grep -qx "not ok 3 - short: tests 3..4 of its plan never ran" "$TMP/tap.out"
check "run_tap: renumbered into one plan" \
	bash -c "grep -qx 'ok 4 - one' '$TMP/tap.out' && grep -qx 'not ok 5 - crash: tests 2..2 of its plan never ran' '$TMP/tap.out' && tail -n 1 '$TMP/tap.out' | grep -qx '1..5'"

# stop_agent: a fake agent that crashes on SIGTERM, one that exits 0 but
# logs an error, one that leaks (a sanitizer report in its log), a clean one.
fake_agent() { # fake_agent NAME SCRIPT: $AGENT becomes it
	printf '#!/bin/bash\necho "sphinx-agent: info: started: fake" >&2\n%s\n' "$2" >"$TMP/$1"
	chmod +x "$TMP/$1"
	AGENT=$TMP/$1
}
fake_agent segv 'trap "kill -SEGV \$\$" TERM; while :; do sleep 0.1; done'
start_agent segv >/dev/null
stop_agent 2>/dev/null && r=0 || r=1
check "stop_agent: an agent that crashes on SIGTERM fails it" [ $r -eq 1 ]
fake_agent err 'trap "echo \"sphinx-agent: error: lost it\" >&2; exit 0" TERM; while :; do sleep 0.1; done'
start_agent err >/dev/null
stop_agent 2>/dev/null && r=0 || r=1
check "stop_agent: exit 0 with an 'error:' line fails it" [ $r -eq 1 ]
fake_agent allowed 'trap "echo \"sphinx-agent: error: lost it\" >&2; exit 0" TERM; while :; do sleep 0.1; done'
start_agent allowed >/dev/null
check "stop_agent ALLOWED: an error the test provoked is allowed" stop_agent 'lost it'
fake_agent leak 'trap "echo \"==1==ERROR: LeakSanitizer: detected memory leaks\" >&2; exit 0" TERM; while :; do sleep 0.1; done'
start_agent leak >/dev/null
stop_agent 2>/dev/null && r=0 || r=1
check "stop_agent: a sanitizer report in the log fails it" [ $r -eq 1 ]
fake_agent clean 'trap "exit 0" TERM; while :; do sleep 0.1; done'
start_agent clean >/dev/null
check "stop_agent: a clean exit passes" stop_agent
finish
