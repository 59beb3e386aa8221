#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sphinx-server integration tests: see tests/node/server_observations.test.js.
exec "$(dirname "$0")/../node/run.sh" server_observations.test.js
