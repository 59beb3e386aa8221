#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Central policy on the server (admin API, CLI, delivery to agents): see tests/node/server_policy.test.js.
exec "$(dirname "$0")/../node/run.sh" server_policy.test.js
