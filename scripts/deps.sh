#!/bin/sh
# Install the Debian 12 packages the project needs, only when something is
# missing (apt-get update runs only then).  Sourced by run.sh and test.sh.
kms_deps_install() {
	pkgs="build-essential autoconf automake libtool pkg-config
	      libssl-dev libmicrohttpd-dev libgnutls28-dev libsqlite3-dev libjansson-dev
	      libconfig-dev libpq-dev libcurl4-openssl-dev libcunit1-dev libsrtp2-dev libsystemd-dev
	      libfreediameter-dev libexpat1-dev
	      sqlite3 postgresql-15 haproxy curl openssl clang-format python3 python3-prometheus-client systemd tshark ${KMS_EXTRA_PKGS:-}"
	missing=""
	for p in $pkgs; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
			missing="$missing $p"
		fi
	done
	[ -z "$missing" ] && return 0
	echo "==> installing missing packages:$missing"
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq || return 1
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing || return 1
}

# Configure (once per build dir) and build.  $1 = build dir, rest = configure args.
kms_build() {
	top=$(cd "$(dirname "$0")" && pwd)
	bdir=$1
	shift
	if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
		(cd "$top" && autoreconf -fi) || return 1
	fi
	mkdir -p "$bdir"
	if [ ! -f "$bdir/Makefile" ] || [ "$top/configure" -nt "$bdir/Makefile" ]; then
		(cd "$bdir" && "$top/configure" -q "$@") || return 1
	fi
	make -C "$bdir" -j"$(nproc)" -s || return 1
}
