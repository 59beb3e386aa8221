#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sphinx-server network edge (bind, data-dir lock, slowloris, RFC 6455, traversal, headers): see tests/node/server_edge.test.js.
exec "$(dirname "$0")/../node/run.sh" server_edge.test.js
