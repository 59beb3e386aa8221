#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sphinx-server over TLS: see tests/node/server_tls.test.js (needs openssl).
if ! command -v openssl >/dev/null; then
	echo "not ok - server_tls: openssl is not installed (needed to make a test certificate)"
	exit 1
fi
exec "$(dirname "$0")/../node/run.sh" server_tls.test.js
