#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sphinx-server at lecture scale: see tests/node/server_scale.test.js.
exec "$(dirname "$0")/../node/run.sh" server_scale.test.js
