#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sphinx-server with its data directory on a 4 MiB tmpfs that fills up: see
# tests/node/server_disk_full.test.js. Needs root (mount).
NODE_OUTPUT=${OUTPUT:-build}	# as given: run.sh takes it relative to the tree
source "$(dirname "$0")/lib.bash"

require_root
require node
mkdir -p "$TMP/disk"
if ! mount -t tmpfs -o size=4m,mode=0700 sphinx-test-disk "$TMP/disk"; then
	not_ok "a 4 MiB tmpfs mounted at $TMP/disk"
	finish
fi
trap 'umount -l "$TMP/disk"; cleanup' EXIT
OUTPUT=$NODE_OUTPUT SPHINX_DISK=$TMP/disk "$(dirname "$0")/../node/run.sh" server_disk_full.test.js
