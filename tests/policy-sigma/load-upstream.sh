#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Load every rule file of a SigmaHQ checkout with sphinx-policy check, one
# file at a time, and count: loaded (and of those, never firing, by what
# they need) and refused (with the errors). Not part of the test suite: it
# needs a checkout of https://github.com/SigmaHQ/sigma.
#   tests/policy-sigma/load-upstream.sh SIGMA_CHECKOUT [SPHINX_POLICY]
set -u
SRC=${1:?usage: load-upstream.sh SIGMA_CHECKOUT [SPHINX_POLICY]}
TOOL=${2:-build/sphinx-policy}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
find "$SRC"/rules* -name '*.yml' | sort | while read -r f; do
	"$TOOL" check "$f" 2>&1
done >"$OUT"
files=$(find "$SRC"/rules* -name '*.yml' | wc -l)
loaded=$(grep -c ' rules OK$' "$OUT")
dormant=$(grep -c ' loaded, never fires: needs ' "$OUT")
echo "files:        $files"
echo "loaded:       $loaded"
echo "can fire:     $((loaded - dormant))"
echo "never fire:   $dormant"
echo "refused:      $((files - loaded))"
echo "never fire, by what they need:"
grep ' loaded, never fires: needs ' "$OUT" | sed 's/.*needs //' | sort | uniq -c | sort -rn | sed 's/^/  /'
echo "refused files' errors:"
grep -v ' rules OK$' "$OUT" | grep -v ' loaded, never fires: ' | sed 's/^/  /'
