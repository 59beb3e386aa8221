#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The fleet view's server side: see tests/node/server_fleet.test.js.
exec "$(dirname "$0")/../node/run.sh" server_fleet.test.js
