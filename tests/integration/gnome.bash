# SPDX-License-Identifier: GPL-2.0-only
# A headless GNOME desktop for the compositor tests, all on private buses
# under $TMP (source after lib.bash): a session bus, PipeWire (+ WirePlumber
# for links between clients), then mutter or gnome-shell with a virtual
# monitor. Every process started here is in PIDS_TO_KILL.
#   gnome_session_bus            # DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR
#   gnome_system_bus_logind      # a private "system" bus with a mock logind
#   gnome_pipewire               # pipewire + wireplumber
#   gnome_compositor mutter|gnome-shell ARGS...   # waits for its D-Bus API

gnome_bus_conf() { # NAME: a session-style bus config listening under $TMP
	sed -e "s#<listen>.*</listen>#<listen>unix:path=$TMP/$1.bus</listen>#" \
	    -e '/standard_session_servicedirs/d' -e '/<servicedir>/d' \
	    /usr/share/dbus-1/session.conf >"$TMP/$1.conf"
}

gnome_start_bus() { # NAME
	gnome_bus_conf "$1"
	dbus-daemon --config-file="$TMP/$1.conf" --nofork --nopidfile >"$TMP/$1.log" 2>&1 &
	PIDS_TO_KILL+=($!)
	for _ in $(seq 50); do [ -S "$TMP/$1.bus" ] && return 0; sleep 0.1; done
	return 1
}

gnome_session_bus() {
	mkdir -p -m 700 "$TMP/rt"
	export XDG_RUNTIME_DIR=$TMP/rt
	gnome_start_bus session || return 1
	export DBUS_SESSION_BUS_ADDRESS=unix:path=$TMP/session.bus
}

# gnome-shell wants logind on the system bus; the real system bus forbids
# a mock owning org.freedesktop.login1, so a private one stands in.
gnome_system_bus_logind() {
	gnome_start_bus system || return 1
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TMP/system.bus
	/usr/bin/python3 -m dbusmock --system --template logind >"$TMP/logind.log" 2>&1 &
	PIDS_TO_KILL+=($!)
	gnome_wait_name --system org.freedesktop.login1 /org/freedesktop/login1 10
}

gnome_pipewire() {
	pipewire >"$TMP/pipewire.log" 2>&1 &
	PIDS_TO_KILL+=($!)
	for _ in $(seq 50); do [ -S "$XDG_RUNTIME_DIR/pipewire-0" ] && break; sleep 0.1; done
	wireplumber >"$TMP/wireplumber.log" 2>&1 &
	PIDS_TO_KILL+=($!)
	[ -S "$XDG_RUNTIME_DIR/pipewire-0" ]
}

# gnome_wait_name --session|--system NAME PATH TIMEOUT_S
gnome_wait_name() {
	local i
	for i in $(seq $(($4 * 5))); do
		gdbus introspect "$1" --dest "$2" --object-path "$3" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# gnome_compositor BINARY ARGS...: sets COMPOSITOR_PID
gnome_compositor() {
	local bin=$1; shift
	"$bin" --headless --wayland --no-x11 --virtual-monitor 800x600 "$@" >"$TMP/$bin.log" 2>&1 &
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
	pw-dump 2>/dev/null | jq -r --arg n "$1" '.[] | select(.info.props["node.name"]==$n) | .id' |
		head -1
}

# A client asking mutter for a monitor screen cast over D-Bus, the way OBS
# and GNOME's recorder do (CreateSession, RecordMonitor, Start); prints
# "NODE id" on PipeWireStreamAdded, stops the session on SIGTERM or after
# argv[1] seconds (printing STOPPED) and exits 5 s later.
gnome_screencast_client() {
	cat >"$TMP/screencast.py" <<'PY'
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
	echo "$TMP/screencast.py"
}
