#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run one Node test file against the real sphinx-server. Installs the pinned
# npm modules (npm ci) when they are missing. A missing prerequisite is a
# failure, never a skip.
set -u
here=$(cd "$(dirname "$0")" && pwd)
OUTPUT=${OUTPUT:-build}
export OUTPUT
name=$(basename "$1" .test.js)
fail() { printf 'not ok 1 - %s: %s\n1..1\n' "$name" "$1"; exit 1; }
command -v node >/dev/null 2>&1 || fail "node is not installed (needed by the server tests)"
case $OUTPUT in /*) out=$OUTPUT ;; *) out=$here/../../$OUTPUT ;; esac
[ -x "$out/sphinx-server" ] || fail "$OUTPUT/sphinx-server is missing (run make first)"
if [ ! -f "$here/node_modules/ws/package.json" ]; then
	command -v npm >/dev/null 2>&1 || fail "npm is not installed and tests/node/node_modules is missing"
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2) || fail "npm ci failed in tests/node"
fi
cd "$here/../.." && exec node "$here/$1"
