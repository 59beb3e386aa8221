# SPDX-License-Identifier: GPL-2.0-only
# A headless GNOME desktop for the compositor tests, all on private buses
# under $GNOME_DIR, run by the unprivileged test user $GNOME_USER (the
# agent is root: it must name that user, and reach that user's session bus,
# which lets in nobody else). Source after lib.bash. Every process started
# here is in PIDS_TO_KILL; `"${GNOME_AS[@]}" CMD` runs CMD as the user in place
# (setpriv, then env, both exec: $! is CMD's own pid).
#   gnome_user                   # creates the user and $GNOME_DIR
#   gnome_session_bus            # DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR
#   gnome_system_bus_logind      # a private "system" bus with a mock logind
#   gnome_pipewire               # pipewire + wireplumber
#   gnome_compositor mutter|gnome-shell ARGS...   # sets COMPOSITOR_PID
GNOME_USER=sphinx-wl-test
GNOME_DIR=$TMP/gnome

gnome_user() {
	id "$GNOME_USER" >/dev/null 2>&1 ||
		useradd --system --create-home --shell /bin/bash "$GNOME_USER" || return 1
	GNOME_UID=$(id -u "$GNOME_USER")
	GNOME_GID=$(id -g "$GNOME_USER")
	GNOME_AS=(setpriv --reuid="$GNOME_UID" --regid="$GNOME_GID" --clear-groups
		  env HOME="$GNOME_DIR/home" USER="$GNOME_USER")
	chmod 755 "$TMP"
	mkdir -p "$GNOME_DIR/home" && chown -R "$GNOME_USER" "$GNOME_DIR" && chmod 700 "$GNOME_DIR"
}


# NAME: a session-style bus config listening in $GNOME_DIR; services are
# activated only from $GNOME_DIR/NAME.services/ (none unless a test puts
# some there).
gnome_bus_conf() {
	mkdir -p "$GNOME_DIR/$1.services"
	sed -e "s#<listen>.*</listen>#<listen>unix:path=$GNOME_DIR/$1.bus</listen>#" \
	    -e "s#<standard_session_servicedirs */>#<servicedir>$GNOME_DIR/$1.services</servicedir>#" \
	    -e '/<servicedir>\/usr/d' \
	    /usr/share/dbus-1/session.conf >"$GNOME_DIR/$1.conf"
}

gnome_start_bus() { # NAME
	gnome_bus_conf "$1"
	"${GNOME_AS[@]}" dbus-daemon --config-file="$GNOME_DIR/$1.conf" --nofork --nopidfile \
		>"$GNOME_DIR/$1.log" 2>&1 &
	PIDS_TO_KILL+=($!)
	for _ in $(seq 50); do [ -S "$GNOME_DIR/$1.bus" ] && return 0; sleep 0.1; done
	return 1
}

gnome_session_bus() {
	mkdir -p -m 700 "$GNOME_DIR/rt" && chown "$GNOME_USER" "$GNOME_DIR/rt"
	export XDG_RUNTIME_DIR=$GNOME_DIR/rt
	gnome_start_bus session || return 1
	export DBUS_SESSION_BUS_ADDRESS=unix:path=$GNOME_DIR/session.bus
}

# gnome-shell wants logind on the system bus; the real system bus forbids
# a mock owning org.freedesktop.login1, so a private one stands in.
gnome_system_bus_logind() {
	gnome_start_bus system || return 1
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$GNOME_DIR/system.bus
	"${GNOME_AS[@]}" /usr/bin/python3 -m dbusmock --system --template logind >"$GNOME_DIR/logind.log" 2>&1 &
	PIDS_TO_KILL+=($!)
	gnome_wait_name --system org.freedesktop.login1 /org/freedesktop/login1 10
}

gnome_pipewire() {
	"${GNOME_AS[@]}" pipewire >"$GNOME_DIR/pipewire.log" 2>&1 &
	PIDS_TO_KILL+=($!)
	for _ in $(seq 50); do [ -S "$XDG_RUNTIME_DIR/pipewire-0" ] && break; sleep 0.1; done
	"${GNOME_AS[@]}" wireplumber >"$GNOME_DIR/wireplumber.log" 2>&1 &
	PIDS_TO_KILL+=($!)
	[ -S "$XDG_RUNTIME_DIR/pipewire-0" ]
}

# gnome_wait_name --session|--system NAME PATH TIMEOUT_S
gnome_wait_name() {
	local i
	for i in $(seq $(($4 * 5))); do
		"${GNOME_AS[@]}" gdbus introspect "$1" --dest "$2" --object-path "$3" >/dev/null 2>&1 &&
			return 0
		sleep 0.2
	done
	return 1
}

# gnome_compositor BINARY ARGS...: sets COMPOSITOR_PID
gnome_compositor() {
	local bin=$1; shift
	"${GNOME_AS[@]}" "$bin" --headless --wayland --no-x11 --virtual-monitor 800x600 "$@" \
		>"$GNOME_DIR/$bin.log" 2>&1 &
	COMPOSITOR_PID=$!
	PIDS_TO_KILL+=($COMPOSITOR_PID)
}

# bounded SECONDS CMD...: run CMD in the background as itself (its pid is
# the process events name, unlike `timeout CMD`), killed after SECONDS;
# sets BOUNDED_PID and BOUNDED_RC.
bounded() {
	local secs=$1 killer; shift
	"$@" &
	BOUNDED_PID=$!
	( sleep "$secs"; kill "$BOUNDED_PID" 2>/dev/null ) &
	killer=$!
	wait "$BOUNDED_PID"
	BOUNDED_RC=$?
	kill "$killer" 2>/dev/null
	wait "$killer" 2>/dev/null
	return 0
}

# Print a PipeWire node's id by its node.name (empty when absent).
gnome_node_id() {
	"${GNOME_AS[@]}" pw-dump 2>/dev/null | jq -r --arg n "$1" '.[] | select(.info.props["node.name"]==$n) | .id' |
		head -1
}

# A client asking mutter for a monitor screen cast over D-Bus, the way OBS
# and GNOME's recorder do (CreateSession, RecordMonitor, Start); prints
# "NODE id" on PipeWireStreamAdded, stops the session on SIGTERM or after
# argv[1] seconds (printing STOPPED) and exits 5 s later.
gnome_screencast_client() {
	cat >"$GNOME_DIR/screencast.py" <<'PY'
import signal, sys, gi
gi.require_version('Gio', '2.0')
from gi.repository import Gio, GLib
bus = Gio.bus_get_sync(Gio.BusType.SESSION)
def call(path, iface, method, args, rtype):
    return bus.call_sync('org.gnome.Mutter.ScreenCast', path, iface, method, args,
                         GLib.VariantType(rtype), 0, -1, None)
sess = call('/org/gnome/Mutter/ScreenCast', 'org.gnome.Mutter.ScreenCast', 'CreateSession',
            GLib.Variant('(a{sv})', ({},)), '(o)').unpack()[0]
stream = call(sess, 'org.gnome.Mutter.ScreenCast.Session', 'RecordMonitor',
              GLib.Variant('(sa{sv})', ('', {})), '(o)').unpack()[0]
loop = GLib.MainLoop()
def on_sig(conn, sender, path, iface, sig, params, *a):
    print('NODE', params.unpack()[0], flush=True)
bus.signal_subscribe(None, 'org.gnome.Mutter.ScreenCast.Stream', 'PipeWireStreamAdded', stream,
                     None, 0, on_sig)
def stop(*a):
    call(sess, 'org.gnome.Mutter.ScreenCast.Session', 'Stop', None, '()')
    print('STOPPED', flush=True)
    GLib.timeout_add_seconds(5, loop.quit)  # still connected a while after
    return False
call(sess, 'org.gnome.Mutter.ScreenCast.Session', 'Start', None, '()')
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, stop)
GLib.timeout_add_seconds(int(sys.argv[1]), stop)
loop.run()
PY
	chmod 644 "$GNOME_DIR/screencast.py"
	echo "$GNOME_DIR/screencast.py"
}

# A remote desktop client (gnome-remote-desktop's calls): a RemoteDesktop
# session, a screen cast tied to it, Start on the RemoteDesktop session;
# prints "NODE id", exits after argv[1] seconds.
gnome_remote_desktop_client() {
	cat >"$GNOME_DIR/remote_desktop.py" <<'PY'
import sys, gi
gi.require_version('Gio', '2.0')
from gi.repository import Gio, GLib
bus = Gio.bus_get_sync(Gio.BusType.SESSION)
RD, SC = 'org.gnome.Mutter.RemoteDesktop', 'org.gnome.Mutter.ScreenCast'
def call(dest, path, iface, method, args, rtype):
    return bus.call_sync(dest, path, iface, method, args, GLib.VariantType(rtype), 0, -1, None)
rd = call(RD, '/org/gnome/Mutter/RemoteDesktop', RD, 'CreateSession', None, '(o)').unpack()[0]
sid = call(RD, rd, 'org.freedesktop.DBus.Properties', 'Get',
           GLib.Variant('(ss)', (RD + '.Session', 'SessionId')), '(v)').unpack()[0]
sc = call(SC, '/org/gnome/Mutter/ScreenCast', SC, 'CreateSession',
          GLib.Variant('(a{sv})', ({'remote-desktop-session-id': GLib.Variant('s', sid)},)),
          '(o)').unpack()[0]
stream = call(SC, sc, SC + '.Session', 'RecordMonitor', GLib.Variant('(sa{sv})', ('', {})),
              '(o)').unpack()[0]
loop = GLib.MainLoop()
def on_sig(conn, sender, path, iface, sig, params, *a):
    print('NODE', params.unpack()[0], flush=True)
bus.signal_subscribe(None, SC + '.Stream', 'PipeWireStreamAdded', stream, None, 0, on_sig)
call(RD, rd, RD + '.Session', 'Start', None, '()')
GLib.timeout_add_seconds(int(sys.argv[1]), loop.quit)
loop.run()
PY
	chmod 644 "$GNOME_DIR/remote_desktop.py"
	echo "$GNOME_DIR/remote_desktop.py"
}
