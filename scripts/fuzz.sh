#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run the libFuzzer targets (built by `make fuzz` into build-fuzz/fuzz/),
# each for a fixed time, starting from its committed corpus
# tests/fuzz/corpus/<target>/. The committed corpus is never written: new
# inputs go to a scratch directory (kept with -o). Prints TAP, one line per
# target with its executions, time and coverage; a crash, leak, sanitizer
# report or timeout is "not ok" and names the reproducer saved under the
# work directory (replay it: build-fuzz/fuzz/fuzz_<target> FILE).
#   scripts/fuzz.sh [-t SECONDS] [-o DIR] [TARGET...]   (default: 20 s, every target)
#   scripts/fuzz.sh -m TARGET...     fold the scratch corpus of DIR into the committed one (-merge=1)
# FUZZ_OUTPUT=build-fuzz selects the build. scripts/test.sh runs the smoke pass.
set -u
cd "$(dirname "$0")/.."
seconds=20
work=
merge=0
while getopts "t:o:m" opt; do
	case $opt in
	t) seconds=$OPTARG ;;
	o) work=$OPTARG ;;
	m) merge=1 ;;
	*) echo "usage: $0 [-t SECONDS] [-o DIR] [-m] [TARGET...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
bins=${FUZZ_OUTPUT:-build-fuzz}/fuzz
if [ $# -eq 0 ]; then
	set -- $(ls "$bins" 2>/dev/null | sed -n 's/^fuzz_//p')
fi
if [ $# -eq 0 ]; then
	echo "not ok 1 - no fuzz targets in $bins: run 'make fuzz' first"
	echo "1..1"
	exit 1
fi
if [ -z "$work" ]; then
	work=$(mktemp -d /tmp/sphinx-fuzz.XXXXXX)
fi
mkdir -p "$work"

n=0
failed=0
for t in "$@"; do
	n=$((n + 1))
	bin=$bins/fuzz_$t
	seeds=tests/fuzz/corpus/$t
	dir=$work/$t
	mkdir -p "$dir/corpus" "$dir/crashes"
	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "not ok $n - $t: no $bin or no $seeds"
		failed=1
		continue
	fi
	if [ "$merge" = 1 ]; then
		# keep only inputs that add coverage: the committed corpus stays small
		"$bin" -merge=1 "$seeds" "$dir/corpus" > "$dir/merge.log" 2>&1
		rc=$?
		added=$(sed -n 's/.*MERGE-OUTER: \([0-9]*\) new files.*/\1/p' "$dir/merge.log" | tail -1)
		if [ $rc -eq 0 ]; then
			echo "ok $n - $t: merged ${added:-0} new inputs into $seeds ($(ls "$seeds" | wc -l) files)"
		else
			echo "not ok $n - $t: merge failed (exit $rc), see $dir/merge.log"
			failed=1
		fi
		continue
	fi
	# -timeout: one input taking 10 s is a hang; the dictionary-free defaults otherwise
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/crashes/" "$dir/corpus" "$seeds" > "$dir/fuzz.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$dir/fuzz.log" | tail -1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$dir/fuzz.log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "ok $n - $t: ${execs:-?} execs in ${secs:-$seconds} s, ${cov:-no coverage line}"
	else
		failed=1
		echo "not ok $n - $t: exit $rc after ${execs:-?} execs, ${cov:-no coverage line}"
		grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' "$dir/fuzz.log" | head -5 | sed 's/^/#   /'
		ls "$dir/crashes" | sed "s|^|#   reproducer: $dir/crashes/|"
		echo "#   log: $dir/fuzz.log"
	fi
done
echo "1..$n"
exit $failed
