#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The Debian packages, end to end on this machine: build them with
# dpkg-buildpackage from a copy of the tree (the work tree stays clean),
# lintian, install with dpkg -i, check files, user, conffiles and units,
# run the installed agent with exactly the unit's capability set, upgrade
# to a second version over locally edited conffiles, purge, and check that
# nothing is left.
#
# There is usually no systemd as PID 1 where this runs (a container), so
# `systemctl start/reload` cannot be exercised: the units are checked with
# `systemd-analyze verify` and `security --offline`, and what the unit
# would do (capabilities, ExecReload's SIGHUP) is done by hand.
#
# Installs and purges meeting-sphinx-agent/-server: refuses to run when
# they are already installed.
source "$(dirname "$0")/lib.bash"

require_root
require dpkg-buildpackage dh fakeroot lintian systemd-analyze setpriv runuser \
	curl Xvfb ffmpeg jq clang bpftool
if ! dpkg-query -W -f='${Status}' debhelper 2>/dev/null | grep -q 'ok installed'; then
	not_ok "prerequisite debhelper is installed"
	finish
fi
if [ -d /run/systemd/system ]; then
	diag "systemd is running: dpkg's postinst will start the services"
else
	diag "no systemd as PID 1 here: units are verified offline, not started"
fi

AGENT_PKG=meeting-sphinx-agent
SERVER_PKG=meeting-sphinx-server
for p in $AGENT_PKG $SERVER_PKG; do
	if dpkg-query -W -f='${db:Status-Status}' $p 2>/dev/null | grep -qv '^not-installed$'; then
		not_ok "$p is not installed before the test (it installs and purges it; dpkg --purge $p first)"
		finish
	fi
done
chmod 0755 "$TMP"
purge_all() { dpkg --purge $AGENT_PKG $SERVER_PKG >/dev/null 2>&1; }
# KEEP_TMP=1 keeps the build directories for a look afterwards.
trap 'purge_all; [ -n "${KEEP_TMP:-}" ] && { diag "kept $TMP"; TMP=/nonexistent; }; cleanup' EXIT

# ----------------------------------------------------------------- build
# The committed tree (git archive HEAD), so edits in progress elsewhere in
# the work tree cannot break the build; PACKAGING_WORKTREE=1 takes the work
# tree as it is instead (tracked and untracked files, nothing ignored).
copy_tree() {
	mkdir -p "$1"
	if [ -n "${PACKAGING_WORKTREE:-}" ]; then
		(cd "$ROOT" && git ls-files -z -co --exclude-standard | tar -c --null -T -) | tar -x -C "$1"
	else
		git -C "$ROOT" archive --format=tar HEAD | tar -x -C "$1"
	fi
}

V1=$(sed -n '1s/.*(\(.*\)).*/\1/p' "$ROOT/debian/changelog")
V2=$V1+pkgtest1
copy_tree "$TMP/v1/src"
copy_tree "$TMP/v2/src"
# Version 2: a changelog entry, a changed default rule the admin will have
# edited (dpkg must keep the edit), one the admin will not have edited
# (dpkg must take the new one), and a changed server configuration.
{
	printf '%s (%s) unstable; urgency=medium\n\n  * Packaging test upgrade.\n\n' meeting-sphinx "$V2"
	printf ' -- Packaging Test <test@meeting-sphinx.invalid>  %s\n\n' "$(date -R)"
	cat "$TMP/v2/src/debian/changelog"
} > "$TMP/v2/changelog" && mv "$TMP/v2/changelog" "$TMP/v2/src/debian/changelog"
echo "# upstream change in $V2" >> "$TMP/v2/src/policy/default/devices.yml"
echo "# upstream change in $V2" >> "$TMP/v2/src/policy/default/exec-screenshot.yml"
echo "# upstream change in $V2" >> "$TMP/v2/src/debian/sphinx-server.conf.head"

build() { # build DIR: the debs land in DIR
	(cd "$1/src" && dpkg-buildpackage -us -uc -b >"$1/build.log" 2>&1)
}
t0=$(date +%s)
build "$TMP/v1" & b1=$!
build "$TMP/v2" & b2=$!
wait $b1; rc1=$?
wait $b2; rc2=$?
diag "both builds took $(( $(date +%s) - t0 )) s"
if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then
	not_ok "dpkg-buildpackage -us -uc -b succeeds"
	for l in "$TMP"/v[12]/build.log; do tail -n 30 "$l"; done | sed "s/^/# /"
	finish
fi
ok "dpkg-buildpackage -us -uc -b succeeds (versions $V1 and $V2)"
deb() { echo "$TMP/$1/${2}_$3_$(dpkg --print-architecture).deb"; }
check "the build made both binary packages" test -f "$(deb v1 $AGENT_PKG "$V1")" -a -f "$(deb v1 $SERVER_PKG "$V1")"
check_sh "the work tree is untouched (no debian/build, debian/tmp)" \
	'[ ! -e "$ROOT/debian/build" ] && [ ! -e "$ROOT/debian/tmp" ]'

lintian --tag-display-limit 0 "$TMP"/v1/*.changes >"$TMP/lintian.out" 2>&1
sed 's/^/# lintian: /' "$TMP/lintian.out" | grep -v 'running with root' 
check_sh "lintian: no errors" '! grep -q "^E:" "$TMP/lintian.out"'
check_sh "lintian: no warnings" '! grep -q "^W:" "$TMP/lintian.out"'

# --------------------------------------------------------------- install
if ! dpkg -i "$(deb v1 $AGENT_PKG "$V1")" "$(deb v1 $SERVER_PKG "$V1")" >"$TMP/install.log" 2>&1; then
	not_ok "dpkg -i installs both packages"
	sed 's/^/# /' "$TMP/install.log"
	finish
fi
ok "dpkg -i installs both packages"

for f in /usr/sbin/sphinx-agent /usr/bin/sphinx-policy /usr/sbin/sphinx-server \
	 /lib/systemd/system/sphinx-agent.service /lib/systemd/system/sphinx-server.service \
	 /usr/share/sphinx/web/index.html /usr/share/sphinx/policy/devices.yml \
	 /etc/sphinx/policy.d/00-default-devices.yml /etc/sphinx/sphinx-server.conf \
	 /usr/lib/sysusers.d/sphinx-server.conf /usr/lib/tmpfiles.d/sphinx-server.conf; do
	check "installed: $f" test -e "$f"
done
for m in sphinx-agent.8 sphinx-server.8 sphinx-policy.1 sphinx-policy.5; do
	check "man page ${m%.*}(${m##*.}) is installed and formats" \
		sh -c "man -w ${m##*.} ${m%.*} && MANWIDTH=80 man ${m##*.} ${m%.*} | grep -q NAME"
done
check "sphinx-agent --version runs" /usr/sbin/sphinx-agent --version
check "sphinx-server --version runs" /usr/sbin/sphinx-server --version

# Every file under /etc is a conffile.
conffiles() { dpkg-query -W -f='${Conffiles}\n' "$1" | awk 'NF {print $1}'; }
check_sh "every default rule in /etc/sphinx/policy.d is a conffile" \
	'[ "$(conffiles $AGENT_PKG | grep -c "^/etc/sphinx/policy.d/00-default-.*\.yml$")" -eq "$(ls /usr/share/sphinx/policy/*.yml | wc -l)" ]'
check_sh "/etc/sphinx/sphinx-server.conf is a conffile" \
	'conffiles $SERVER_PKG | grep -qx /etc/sphinx/sphinx-server.conf'
check_sh "/etc/sphinx/agent.conf is a conffile, 0640 (it will hold the token)" \
	'conffiles $AGENT_PKG | grep -qx /etc/sphinx/agent.conf && [ "$(stat -c %a /etc/sphinx/agent.conf)" = 640 ]'
check_sh "the default rules in /etc equal the pristine copies" \
	'for f in /usr/share/sphinx/policy/*.yml; do cmp -s "$f" /etc/sphinx/policy.d/00-default-$(basename "$f") || exit 1; done'
check "sphinx-policy check /etc/sphinx/policy.d" /usr/bin/sphinx-policy check /etc/sphinx/policy.d

check_sh "system user _sphinx: no login shell, home /var/lib/sphinx" \
	'IFS=: read -r _ _ uid _ _ home shell < <(getent passwd _sphinx) && [ "$uid" -lt 1000 ] && [ "$home" = /var/lib/sphinx ] && [ "$shell" = /usr/sbin/nologin ]'
check_sh "/var/lib/sphinx is _sphinx:_sphinx 0750" \
	'[ "$(stat -c "%U:%G %a" /var/lib/sphinx)" = "_sphinx:_sphinx 750" ]'
check_sh "/etc/sphinx/sphinx-server.conf is root:_sphinx 0640" \
	'[ "$(stat -c "%U:%G %a" /etc/sphinx/sphinx-server.conf)" = "root:_sphinx 640" ]'

# ----------------------------------------------------------------- units
for u in sphinx-agent sphinx-server; do
	check "systemd-analyze verify $u.service" systemd-analyze verify /lib/systemd/system/$u.service
	score=$(systemd-analyze security --offline=yes /lib/systemd/system/$u.service 2>/dev/null |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	diag "systemd-analyze security $u.service: ${score:-?}"
	limit=2.0; [ $u = sphinx-agent ] && limit=3.5
	check_sh "$u.service exposure ${score:-?} <= $limit" \
		'[ -n "$score" ] && awk -v s="$score" -v l="$limit" "BEGIN { exit !(s <= l) }"'
done
unit_value() { sed -n "s/^$2=//p" /lib/systemd/system/$1.service | tail -1; }
check_sh "sphinx-agent.service: Type=notify with a watchdog" \
	'[ "$(unit_value sphinx-agent Type)" = notify ] && [ -n "$(unit_value sphinx-agent WatchdogSec)" ]'
check_sh "sphinx-server.service: Type=notify with a watchdog" \
	'[ "$(unit_value sphinx-server Type)" = notify ] && [ -n "$(unit_value sphinx-server WatchdogSec)" ]'
check_sh "sphinx-agent.service: ExecReload sends SIGHUP" \
	'unit_value sphinx-agent ExecReload | grep -q "kill -HUP \$MAINPID"'
check_sh "sphinx-server.service: runs as _sphinx with no capabilities" \
	'[ "$(unit_value sphinx-server User)" = _sphinx ] && [ -z "$(unit_value sphinx-server CapabilityBoundingSet)" ]'

# -------------------------------------------- the installed server runs
# As the unit would: user _sphinx, the packaged configuration.
port=$(( 20000 + RANDOM % 20000 ))
runuser -u _sphinx -- /usr/sbin/sphinx-server -c /etc/sphinx/sphinx-server.conf \
	-p $port -b 127.0.0.1 >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
PIDS_TO_KILL+=($SERVER_PID)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
check "the installed server (as _sphinx, packaged config) serves the web app" \
	sh -c "curl -fs http://127.0.0.1:$port/ | grep -qi '<html'"
echo 'packaging-test-pass' | runuser -u _sphinx -- /usr/sbin/sphinx-server -c /etc/sphinx/sphinx-server.conf \
	add-user pkgtest --email pkgtest@example.org >/dev/null 2>&1
check "admin command as _sphinx writes the database" test -f /var/lib/sphinx/sphinx.db
kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null

# ------------------------- the installed agent with the unit's privileges
# uid 0 with the unit's CapabilityBoundingSet and nothing else, the unit's
# command line; a recorder run by another user, started before and after.
caps=$(unit_value sphinx-agent CapabilityBoundingSet | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
diag "agent capability set: $caps"
start_xvfb
setpriv --reuid=54321 --regid=54321 --clear-groups \
	ffmpeg -loglevel quiet -f x11grab -framerate 10 -i "$DISPLAY" -t 30 -f null - &
EARLY_FF=$!
PIDS_TO_KILL+=($EARLY_FF)
# "running before it": setpriv has become ffmpeg before the agent starts
for _ in $(seq 50); do [ "$(readlink /proc/$EARLY_FF/exe 2>/dev/null)" = /usr/bin/ffmpeg ] && break; sleep 0.1; done
sleep 0.3
AGENT_LOG=$TMP/agent.log
AGENT_OUT=$TMP/agent.out
setpriv --bounding-set=-all,$caps --inh-caps=-all -- \
	/usr/sbin/sphinx-agent --stdout --policy /etc/sphinx/policy.d \
	--status-file "$TMP/agent.status" >"$AGENT_OUT" 2>"$AGENT_LOG" &
AGENT_PID=$!
PIDS_TO_KILL+=($AGENT_PID)
for _ in $(seq 100); do grep -q "started:" "$AGENT_LOG" && break; kill -0 $AGENT_PID 2>/dev/null || break; sleep 0.1; done
check "the agent starts with only $caps" grep -q "started:" "$AGENT_LOG"
check_sh "... with every layer active (exec, device, api)" \
	'grep -q "layers exec=active device=active api=active" "$AGENT_LOG"'
check_sh "... the device open hook (cgroup/dev) attached" \
	'grep -qE "^device +device opens \(cgroup/dev\) +attached" "$TMP/agent.status"'
check_sh "... and the X server layer attached" 'grep -qE "xserver layer: [1-9][0-9]* of" "$AGENT_LOG"'
begin_for() { # begin_for PID: a capture.begin line for PID with its exe
	for _ in $(seq 50); do
		jq -e --argjson p "$1" 'select(.type == "capture.begin" and .pid == $p and .exe == "/usr/bin/ffmpeg")' \
			"$AGENT_OUT" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
check "... sees another user's recorder that was running before it (exe via CAP_SYS_PTRACE)" begin_for $EARLY_FF
setpriv --reuid=54321 --regid=54321 --clear-groups \
	ffmpeg -loglevel quiet -f x11grab -framerate 10 -i "$DISPLAY" -t 2 -f null - &
LATE_FF=$!
check "... sees another user's recorder started after it" begin_for $LATE_FF
wait $LATE_FF

# Reload: what `systemctl reload` does (ExecReload= is kill -HUP $MAINPID).
cat > /etc/sphinx/policy.d/99-broken.yml <<'EOF'
id: local.broken
title: Broken rule
logsource: { category: process_creaton }
detection: { sel: { Image|endwith: /x }, condition: sel }
EOF
kill -HUP $AGENT_PID
for _ in $(seq 50); do grep -q "reload refused" "$AGENT_LOG" && break; sleep 0.1; done
check_sh "SIGHUP with a broken policy: refused, errors name file:line:col, old rules kept" \
	'grep -q "reload refused" "$AGENT_LOG" && grep -q "99-broken.yml:[0-9]*:[0-9]*:" "$AGENT_LOG" && kill -0 $AGENT_PID'
rm -f /etc/sphinx/policy.d/99-broken.yml
kill -HUP $AGENT_PID
for _ in $(seq 50); do grep -q "policy reloaded" "$AGENT_LOG" && break; sleep 0.1; done
check "SIGHUP with the fixed policy: reloaded" grep -q "policy reloaded" "$AGENT_LOG"
check "the agent stops on SIGTERM: exit 0, no error but the broken reload's" \
	stop_pid $AGENT_PID "$AGENT_LOG" 'reload refused|99-broken\.yml|has errors'
kill $EARLY_FF 2>/dev/null

# --------------------------------------------- upgrade over local edits
echo "# local edit: keep me" >> /etc/sphinx/policy.d/00-default-devices.yml
sed -i 's/^#port = 8080$/port = 8099/' /etc/sphinx/sphinx-server.conf
cat > /etc/sphinx/policy.d/50-local.yml <<'EOF'
id: local.exec.in-house-recorder
title: Our in-house recorder started
logsource: { category: process_creation }
kind: recording
detection: { selection: { Image|endswith: /in-house-recorder }, condition: selection }
EOF
# What apt does non-interactively with Dpkg::Options::=--force-confold.
if dpkg -i --force-confdef --force-confold "$(deb v2 $AGENT_PKG "$V2")" "$(deb v2 $SERVER_PKG "$V2")" \
	>"$TMP/upgrade.log" 2>&1 </dev/null; then
	ok "dpkg -i upgrades both packages to $V2"
else
	not_ok "dpkg -i upgrades both packages to $V2"
	sed 's/^/# /' "$TMP/upgrade.log"
fi
check_sh "installed version is $V2" \
	'[ "$(dpkg-query -W -f="\${Version}" $AGENT_PKG)" = "$V2" ] && [ "$(dpkg-query -W -f="\${Version}" $SERVER_PKG)" = "$V2" ]'
check "the edited default rule kept the local edit" grep -q "local edit: keep me" /etc/sphinx/policy.d/00-default-devices.yml
check "... and the new upstream version waits beside it (.dpkg-dist)" \
	grep -q "upstream change in $V2" /etc/sphinx/policy.d/00-default-devices.yml.dpkg-dist
check "an unedited default rule was updated" grep -q "upstream change in $V2" /etc/sphinx/policy.d/00-default-exec-screenshot.yml
check "the edited server configuration kept the local edit" grep -qx "port = 8099" /etc/sphinx/sphinx-server.conf
check "the local rule file is still there" test -f /etc/sphinx/policy.d/50-local.yml
check "the policy still loads" /usr/bin/sphinx-policy check /etc/sphinx/policy.d
check "the database survived the upgrade" test -s /var/lib/sphinx/sphinx.db
check_sh "the configuration is still root:_sphinx 0640" \
	'[ "$(stat -c "%U:%G %a" /etc/sphinx/sphinx-server.conf)" = "root:_sphinx 640" ]'

# ----------------------------------------------------------------- purge
if dpkg --purge $AGENT_PKG $SERVER_PKG >"$TMP/purge.log" 2>&1; then
	ok "dpkg --purge removes both packages"
else
	not_ok "dpkg --purge removes both packages"
	sed 's/^/# /' "$TMP/purge.log"
fi
left=$(ls -d /etc/sphinx /var/lib/sphinx /usr/share/sphinx /usr/sbin/sphinx-agent /usr/sbin/sphinx-server \
	/usr/bin/sphinx-policy /lib/systemd/system/sphinx-*.service /etc/systemd/system/*/sphinx-*.service \
	/usr/lib/sysusers.d/sphinx-server.conf /usr/lib/tmpfiles.d/sphinx-server.conf \
	/usr/share/doc/meeting-sphinx-* /var/lib/systemd/deb-systemd-helper-enabled/*/sphinx-* 2>/dev/null)
check_sh "nothing is left after purge${left:+ (left: $(echo $left))}" '[ -z "$left" ]'
check_sh "no _sphinx user or group is left" '! getent passwd _sphinx && ! getent group _sphinx'
check_sh "dpkg knows neither package any more" \
	'! dpkg-query -W -f="\${db:Status-Status}\n" $AGENT_PKG $SERVER_PKG 2>/dev/null | grep -qv "^not-installed$"'

finish
