#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install what is needed, build, and run the main job: the agent watching
# this machine and printing each detection as a JSON line. Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
make -j"$(nproc)"
exec build/sphinx-agent --stdout --policy policy/default
