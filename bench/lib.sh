# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# What every bench script shares; sourced, never run.
#
# A bench opens its results file with bench_begin NAME, which sends all
# further output to the terminal and to bench/results/NAME-<date>.txt
# (-2, -3 ... if it exists; RESULTS=file to change) and starts it with the machine description:
# CPUs, model, kernel, distribution, memory, git commit, load average and
# the sphinx-agent processes that are not ours (their probes tax the
# "without" runs too). Each figure then goes through bench_result, which
# prints one line
#     result FIGURE min MIN median MEDIAN max MAX UNIT (N runs)
# that bench/run-all.sh collects into the final table. bench_end writes the
# load average after the run and waits until the file is complete.
#
# CPU accounting without forks (the counters must not count the counting):
# cpu_busy_ms reads the whole machine's busy time from /proc/stat (user,
# nice, system, irq and softirq of every CPU; idle, iowait and steal are not
# work done here), proc_cpu_ms PID one process's utime + stime (all threads).

BENCH_DATE=$(date -u +%Y-%m-%d)
BENCH_HZ=$(getconf CLK_TCK)

# bench_results_path NAME: bench/results/NAME-<date>.txt, or -2, -3 ... when
# that file exists (a committed results file is cited; never overwrite it).
bench_results_path() {
	local f=bench/results/$1-$BENCH_DATE.txt i=2
	while [ -e "$f" ]; do
		f=bench/results/$1-$BENCH_DATE-$i.txt
		i=$((i + 1))
	done
	echo "$f"
}

# bench_begin NAME: results file, machine description, load before.
bench_begin() {
	RESULTS=${RESULTS:-$(bench_results_path "$1")}
	mkdir -p "$(dirname "$RESULTS")"
	exec 3>&1 4>&2
	exec > >(tee "$RESULTS") 2>&1
	BENCH_TEE=$!
	local dirty=
	git diff --quiet HEAD -- . ':!bench/results' 2>/dev/null || dirty=" (with uncommitted changes)"
	echo "== bench $1, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), command: ${BENCH_COMMAND:-$0}"
	echo "== machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
		"$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
		"kernel $(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
	echo "== commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$dirty"
	echo "== load before: $(uptime)"
	echo "== other sphinx-agent processes: $(bench_other_agents)"
}

# bench_end: load after, then wait for the results file to be written.
bench_end() {
	echo "== load after: $(uptime)"
	echo "== other sphinx-agent processes: $(bench_other_agents)"
	echo "saved to $RESULTS"
	exec 1>&3 2>&4 3>&- 4>&-
	wait "$BENCH_TEE" 2>/dev/null || true
}

# Agents not started by this script (${APID:-}): how many, which.
bench_other_agents() {
	local p n=0 list=
	for p in $(pgrep -x sphinx-agent); do
		[ "$p" = "${APID:-}" ] && continue
		n=$((n + 1))
		list="$list $p"
	done
	echo "$n${list:+ (pids$list)}"
}

# Numbers on stdin -> "min X median Y max Z" (median of an even count: the
# mean of the two middle values).
bench_stats() {
	sort -g | awk '{ v[NR] = $1 }
		END { if (!NR) { print "min - median - max -"; exit }
		      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "min %.10g median %.10g max %.10g", v[1], m, v[NR] }'
}

# bench_result FIGURE UNIT VALUE...: one "result" line, the figure's
# distribution over the runs.
bench_result() {
	local figure=$1 unit=$2
	shift 2
	printf 'result %-36s %s %s (%d runs)\n' "$figure" "$(printf '%s\n' "$@" | bench_stats)" "$unit" $#
}

# bench_median VALUE...: the median alone.
bench_median() { printf '%s\n' "$@" | bench_stats | awk '{ print $4 }'; }

cpu_busy_ms() {
	local user nice system irq softirq
	read -r _ user nice system _ _ irq softirq _ </proc/stat
	echo $(((user + nice + system + irq + softirq) * 1000 / BENCH_HZ))
}

proc_cpu_ms() {
	local line
	read -r line <"/proc/$1/stat" || { echo 0; return; }
	# fields after "(comm) ": state ... utime is the 12th, stime the 13th
	set -- ${line##*) }
	echo $(((${12} + ${13}) * 1000 / BENCH_HZ))
}

now_us() { echo "${EPOCHREALTIME/./}"; }

# ------------------------------------------------------------ the agent
# For the overhead benches: $AGENT and $TMP set by the caller. The agent
# runs with --stdout (capture lines to $TMP/agent.out) and its own status
# file, so another agent on the machine cannot answer for it.

bench_fail() {
	echo "BENCH FAILED: $*" >&2
	exit 1
}

# agent_start [PROBE...]: start the agent, wait for it, then require that
# every layer and each named X server probe is attached (agent_assert).
agent_start() {
	"$AGENT" --stdout --policy policy/default --status-file "$TMP/agent.status" \
		>"$TMP/agent.out" 2>"$TMP/agent.log" &
	APID=$!
	local i
	for ((i = 0; i < 300; i++)); do
		grep -q 'started:' "$TMP/agent.log" && break
		kill -0 "$APID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q 'started:' "$TMP/agent.log" || {
		cat "$TMP/agent.log" >&2
		bench_fail "the agent did not start within 30 s (pid $APID, state and wait channel:" \
			"$(ps -o stat=,wchan:32= -p "$APID" 2>/dev/null || echo gone))"
	}
	agent_assert "$@"
}

# agent_assert [PROBE...]: from `sphinx-agent --status` of our running
# agent: layers exec, device, api and xserver active, no probe failed, and
# each PROBE (an X server function) attached. Fails the bench otherwise:
# a "with" figure taken without its hooks would be a lie.
agent_assert() {
	local st layer p
	kill -0 "$APID" 2>/dev/null || { cat "$TMP/agent.log" >&2; bench_fail "the agent (pid $APID) is gone"; }
	st=$("$AGENT" --status --status-file "$TMP/agent.status") || bench_fail "sphinx-agent --status failed"
	[[ $st == "running agent, pid $APID"* ]] || { echo "$st" >&2; bench_fail "--status does not describe our agent (pid $APID)"; }
	for layer in exec device api xserver; do
		grep -Eq "^layers:.* $layer=active( |\$)" <<<"$st" ||
			{ echo "$st" >&2; bench_fail "layer $layer is not active"; }
	done
	! grep -E ' failed {2,}' <<<"$st" >&2 || bench_fail "a probe failed to attach (above)"
	for p; do
		grep -Eq "^xserver +$p +attached " <<<"$st" || { echo "$st" >&2; bench_fail "X server probe $p is not attached"; }
	done
}

# agent_stop: SIGTERM; the agent must exit 0 and log no error.
agent_stop() {
	local rc=0
	kill -TERM "$APID"
	wait "$APID" || rc=$?
	APID=
	[ "$rc" -eq 0 ] || { cat "$TMP/agent.log" >&2; bench_fail "the agent exited with status $rc"; }
	! grep 'error:' "$TMP/agent.log" >&2 || bench_fail "the agent logged an error (above)"
}

# measure COMMAND...: run it, print "wall_ms machine_cpu_ms agent_cpu_ms"
# (agent 0 when none runs). The CPU counters are read 200 ms after the
# command ends: the agent takes exec and exit records on its 100 ms poll,
# so its share of the work may come after the workload's last instruction.
measure() {
	local t0 c0 a0=0 a1=0
	t0=$(now_us) c0=$(cpu_busy_ms)
	[ -n "${APID:-}" ] && a0=$(proc_cpu_ms "$APID")
	"$@" >/dev/null 2>&1
	local t1 c1
	t1=$(now_us)
	sleep 0.2
	c1=$(cpu_busy_ms)
	[ -n "${APID:-}" ] && a1=$(proc_cpu_ms "$APID")
	echo "$(((t1 - t0) / 1000)) $((c1 - c0)) $((a1 - a0))"
}

# ------------------------------------------------------------ X and rows
# xvfb_start: an Xvfb on a display it picks itself (-displayfd, so no
# clash with another session's); sets DISPLAY, adds its pid to XPIDS.
xvfb_start() {
	local f i
	f=$(mktemp)
	Xvfb -displayfd 5 -screen 0 1280x720x24 -nolisten tcp 5>"$f" >/dev/null 2>&1 &
	XPIDS="${XPIDS:-} $!"
	for ((i = 0; i < 100; i++)); do
		[ -s "$f" ] && break
		sleep 0.05
	done
	[ -s "$f" ] || bench_fail "Xvfb did not start"
	DISPLAY=:$(cat "$f")
	export DISPLAY
	rm -f "$f"
}

# row K SIDE WORKLOAD METRIC VALUE UNIT: one measurement into $TMP/rows
# (K: the how-many-th block of that side; blocks K of the two sides ran one
# after the other), echoed to the raw output.
row() {
	echo "$*" >>"$TMP/rows"
	echo "raw $*"
}

# summarise: for every WORKLOAD METRIC in $TMP/rows, in order, results
# WORKLOAD_METRIC_without and _with over the runs, and WORKLOAD_METRIC_cost
# in %: for each K, with/without - 1 (for a rate, ops/s: without/with - 1),
# so positive is what the agent costs. The agent's own CPU (metric
# agent_ms) has only a "with" side.
summarise() {
	local w m unit
	local -a off on cost
	while read -r w m unit; do
		mapfile -t off < <(awk -v w="$w" -v m="$m" '$2 == "off" && $3 == w && $4 == m { print $5 }' "$TMP/rows")
		mapfile -t on < <(awk -v w="$w" -v m="$m" '$2 == "on" && $3 == w && $4 == m { print $5 }' "$TMP/rows")
		if [ "$m" = agent_ms ]; then
			bench_result "${w}_agent_cpu" ms "${on[@]}"
			continue
		fi
		bench_result "${w}_${m}_without" "$unit" "${off[@]}"
		bench_result "${w}_${m}_with" "$unit" "${on[@]}"
		mapfile -t cost < <(paste <(printf '%s\n' "${off[@]}") <(printf '%s\n' "${on[@]}") |
			awk -v rate="$([ "$unit" = ops/s ] && echo 1 || echo 0)" \
				'$1 > 0 && $2 > 0 { printf "%.1f\n", (rate ? $1 / $2 : $2 / $1) * 100 - 100 }')
		bench_result "${w}_${m}_cost" % "${cost[@]}"
	done < <(awk '!seen[$3 " " $4]++ { if (!(($3) in w)) { w[$3] = ++nw; m[$3] = 0 }
			line[$3, ++m[$3]] = $3 " " $4 " " $6 }
		END { for (k in w) order[w[k]] = k
		      for (i = 1; i <= nw; i++) for (j = 1; j <= m[order[i]]; j++) print line[order[i], j] }' "$TMP/rows")
}

# side_of I: the I-th block's side, off on on off off on on off ...: each
# side runs first as often as second, so a drift of the machine's load over
# the bench falls on both.
side_of() { case $(($1 % 4)) in 0 | 3) echo off ;; *) echo on ;; esac; }

# idle_row K SIDE: the machine's busy CPU over 1.2 s of doing nothing (and the
# agent's, with it): what the agent costs at rest, and how much else the
# machine was running while the block's figures were taken.
idle_row() {
	local m
	read -r -a m < <(measure sleep 1)
	row "$1" "$2" idle cpu_ms "${m[1]}" ms
	[ "$2" = off ] || row "$1" "$2" idle agent_ms "${m[2]}" ms
}
