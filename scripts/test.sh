#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install everything the build and the tests need, build, run every test.
# Ends with "N passed, N failed", then the style offences if there are any
# (make checksrc runs first; it fails the run but does not hide the test
# results). Run as root on Debian 12: the tests load
# the real BPF programs and drive real recorders on Xvfb.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
# Style first: it takes a second and names file:line (scripts/checksrc).
style=$(mktemp)
trap 'rm -f "$style"' EXIT
make -s checksrc >"$style" 2>&1 || echo failed >>"$style"
make -j"$(nproc)" all test-bins
# The unit tests again under AddressSanitizer + UBSan, in the same summary.
make -j"$(nproc)" OUTPUT=build-asan SANITIZE=address,undefined test-bins
rc=0
SANITIZER_OUTPUT=build-asan make test || rc=$?
if grep -qx failed "$style"; then
	grep -vx failed "$style"
	rc=1
fi
exit $rc
