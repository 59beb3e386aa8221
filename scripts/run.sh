#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The main job in one command: install what is needed, build, then run the
# demo — server, headless X display and agent, demo accounts and meeting —
# printing the lobby URL and how to trigger an alert. Ctrl-C stops it all.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
make -j"$(nproc)"
exec bash scripts/demo.sh
