#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sphinx-server CSRF on every state-changing route and the permission matrix of docs/api.md: see tests/node/server_matrix.test.js.
exec "$(dirname "$0")/../node/run.sh" server_matrix.test.js
