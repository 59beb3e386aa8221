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
if ! command -v node >/dev/null 2>&1; then
	echo "not ok - $name: node is not installed (needed by the server tests)"
	exit 1
fi
if [ ! -x "$here/../../$OUTPUT/sphinx-server" ]; then
	echo "not ok - $name: $OUTPUT/sphinx-server is missing (run make first)"
	exit 1
fi
if [ ! -f "$here/node_modules/ws/package.json" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "not ok - $name: npm is not installed and tests/node/node_modules is missing"
		exit 1
	fi
	if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2); then
		echo "not ok - $name: npm ci failed in tests/node"
		exit 1
	fi
fi
cd "$here/../.." && exec node "$here/$1"
