#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sphinx-server over TLS: see tests/node/server_tls.test.js (needs openssl).
if ! command -v openssl >/dev/null; then
	printf 'not ok 1 - server_tls: openssl is not installed (needed to make a test certificate)\n1..1\n'
	exit 1
fi
exec "$(dirname "$0")/../node/run.sh" server_tls.test.js
