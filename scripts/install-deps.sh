#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install every Debian package Meeting Sphinx needs to build, run and test.
#   scripts/install-deps.sh          build + run (agent, server, policy tool)
#   scripts/install-deps.sh --test   also what the test suite drives (PostgreSQL
#                                    for tests/integration/server_pg.sh, which
#                                    starts its own cluster: Debian's default
#                                    one may stay stopped, and HAProxy for
#                                    the cluster tests, which run their own)
set -eu

BUILD="make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
 libyaml-dev libjansson-dev libsystemd-dev libwebsockets-dev
 libwebsockets-evlib-ev libsqlite3-dev libpq-dev libsodium-dev libcjose-dev
 libcurl4-openssl-dev libssl-dev xvfb x11-utils ffmpeg curl"

TEST="libcmocka-dev libclang-rt-14-dev xvfb x11-apps x11-utils xauth ffmpeg
 gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
 imagemagick scrot python3-xlib procps psmisc jq libxcb-composite0
 libpipewire-0.3-dev libspa-0.2-dev libpipewire-0.3-modules
 libx11-dev libxext-dev libxrender-dev libxdamage-dev libxcb-xfixes0
 libx11-xcb-dev libxcb-render0-dev libxcomposite-dev
 byzanz recordmydesktop maim mpv xterm openbox picom x11vnc xtightvncviewer
 pipewire-bin curl openssl chromium sway grim wf-recorder obs-studio
 mutter gnome-shell pipewire wireplumber gstreamer1.0-pipewire python3-gi
 gir1.2-glib-2.0 python3-dbusmock dbus-daemon libglib2.0-bin util-linux gjs
 debhelper dpkg-dev fakeroot build-essential lintian man-db
 postgresql postgresql-client haproxy"

pkgs=$BUILD
[ "${1:-}" = "--test" ] && pkgs="$BUILD $TEST"

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root (apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# Node (tests, web tooling) only when the machine has none: a newer one
# from elsewhere may already be installed and conflicts with Debian's npm.
if [ "${1:-}" = "--test" ] && ! command -v node >/dev/null 2>&1; then
	pkgs="$pkgs nodejs npm"
fi
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $pkgs
