#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Where sphinx-server finds its web app when web_root is not set: started
# from a checkout (build/sphinx-server, from any working directory) it
# serves the checkout's server/web on `/`; a copy of the binary outside a
# checkout uses the installed one (<prefix>/share/sphinx/web, baked in at
# build time); a web root that does not exist is one clear line at start,
# and the rest of the server still answers.
set -u
cd "$(dirname "$0")/../.."
BIN=$(realpath "${OUTPUT:-build}/sphinx-server")
CHECKOUT=$(pwd -P)
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; [ -n "${2:-}" ] && printf '# %s\n' "$2"; }

if [ ! -x "$BIN" ]; then
	echo "not ok - sphinx-server binary missing at $BIN (run make)"
	exit 1
fi
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

free_port() {
	local p
	while :; do
		p=$((30000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# start BINARY LOG ARGS...: run it from $tmp (not the checkout) until it answers
start() {
	local bin=$1 log=$2; shift 2
	port=$(free_port)
	(cd "$tmp" && exec "$bin" --bind 127.0.0.1 --port "$port" "$@") >"$log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null; pid=; }

# 1. From the checkout, no web_root anywhere: the checkout's web app.
if start "$BIN" "$tmp/log1" --data "$tmp/d1"; then
	code=$(curl -s -o "$tmp/index" -w '%{http_code}' "http://127.0.0.1:$port/")
	if [ "$code" = 200 ] && cmp -s "$tmp/index" server/web/index.html; then
		ok "from a checkout without web_root, / answers 200 with server/web/index.html"
	else
		nok "from a checkout without web_root, / answers 200 with server/web/index.html" "got $code: $(head -c 200 "$tmp/index")"
	fi
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/js/app.js")
	if [ "$code" = 200 ]; then ok "and its modules (/js/app.js)"; else nok "and its modules (/js/app.js)" "got $code"; fi
	if grep -q "web $CHECKOUT/server/web)" "$tmp/log1" && ! grep -q "web_root" "$tmp/log1"; then
		ok "the start line names the checkout's web app, no warning"
	else
		nok "the start line names the checkout's web app, no warning" "$(cat "$tmp/log1")"
	fi
	stop
else
	nok "a server started from the checkout without web_root answers" "$(cat "$tmp/log1")"
fi

# 2. A web_root that does not exist: one clear line, the API still answers.
if start "$BIN" "$tmp/log2" --data "$tmp/d2" --web "$tmp/nope"; then
	lines=$(grep -c "web_root $tmp/nope: No such file or directory: the web app will answer 404" "$tmp/log2")
	if [ "$lines" = 1 ]; then ok "a missing web_root is one clear line at start"; else nok "a missing web_root is one clear line at start" "$(cat "$tmp/log2")"; fi
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")
	code2=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/config")
	if [ "$code" = 404 ] && [ "$code2" = 200 ]; then ok "then / is 404 and the API still answers"; else nok "then / is 404 and the API still answers" "/ $code, /api/config $code2"; fi
	stop
else
	nok "a server with a missing web_root still starts" "$(cat "$tmp/log2")"
fi

# 3. The same binary outside a checkout: the installed web app, and when that
#    is absent too, the clear line names it.
mkdir -p "$tmp/sbin"
cp "$BIN" "$tmp/sbin/sphinx-server"
if start "$tmp/sbin/sphinx-server" "$tmp/log3" --data "$tmp/d3"; then
	web=$(sed -n 's/.*serving (.*, web \(.*\))$/\1/p' "$tmp/log3")
	if [[ $web == /*/share/sphinx/web && $web != "$CHECKOUT"* ]]; then
		ok "outside a checkout, the installed web app ($web)"
	else
		nok "outside a checkout, the installed web app" "$(cat "$tmp/log3")"
	fi
	if [ -d "$web" ] || grep -q "web_root $web: No such file or directory" "$tmp/log3"; then
		ok "the installed web app exists, or the start says it does not"
	else
		nok "the installed web app exists, or the start says it does not" "$(cat "$tmp/log3")"
	fi
	stop
else
	nok "a copy of the binary outside the checkout starts" "$(cat "$tmp/log3")"
fi
echo "1..$n"
exit $fail
