#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sphinx-server nodes on one PostgreSQL store: see tests/node/server_nodes.test.js
# (it starts its own private PostgreSQL cluster, as root through runuser).
exec "$(dirname "$0")/../node/run.sh" server_nodes.test.js
