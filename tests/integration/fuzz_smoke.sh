#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Every libFuzzer target (make fuzz: clang, ASan + UBSan) runs for a short
# smoke time from its committed corpus: a crash, leak, sanitizer report or
# timeout is "not ok" naming the reproducer (scripts/fuzz.sh). The targets
# must be built: a missing build is a failure, never a skip.
# FUZZ_SECONDS (default 20) per target; the long runs are in docs/testing.md.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
bins=${FUZZ_OUTPUT:-$ROOT/build-fuzz}/fuzz
if ! ls "$bins"/fuzz_* >/dev/null 2>&1; then
	echo "not ok 1 - libFuzzer targets built in $bins (run 'make fuzz')"
	echo "1..1"
	exit 1
fi
FUZZ_OUTPUT=${FUZZ_OUTPUT:-$ROOT/build-fuzz} exec "$ROOT/scripts/fuzz.sh" -t "${FUZZ_SECONDS:-20}"
