#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sphinx-server against hostile signed-in users: see tests/node/server_hostile_meetings.test.js.
exec "$(dirname "$0")/../node/run.sh" server_hostile_meetings.test.js
