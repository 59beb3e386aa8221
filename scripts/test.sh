#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install everything the build and the tests need, build, run every test.
# Ends with "N passed, N failed" (the style check, scripts/checksrc on the
# whole tree, is one of the tests: tests/integration/checksrc.sh). Run as
# root on Debian 12: the tests load the real BPF programs and drive real
# recorders on Xvfb.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
make -j"$(nproc)" all test-bins
# A second build with AddressSanitizer + UBSan, the server and the agent
# included: tests/run replays the unit tests and the fuzz inputs under it and
# runs the integration files of its SANITIZER_INTEGRATION list against its
# daemons (suites unit-asan, fuzz-replay, integration-asan; docs/testing.md).
make -j"$(nproc)" OUTPUT=build-asan SANITIZE=address,undefined all test-bins
# The libFuzzer targets (clang, ASan + UBSan): tests/integration/fuzz_smoke.sh
# runs each for a short smoke time from its committed corpus.
make -j"$(nproc)" fuzz
SANITIZER_OUTPUT=build-asan make test
