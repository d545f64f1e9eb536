#!/bin/sh
# Install the Debian packages Aya needs, if any is missing. Idempotent and quiet
# when everything is present. Usage: scripts/deps.sh [build|test|bench|demo|package]...
set -eu

build="build-essential pkg-config clang libldns-dev libevent-dev libprotobuf-c-dev
 protobuf-c-compiler libmaxminddb-dev liblmdb-dev libssl-dev libyaml-dev
 liburcu-dev libjansson-dev libcmocka-dev xz-utils
 libcap-dev libsystemd-dev"
# unbound and delv (bind9-dnsutils) validate the signed answers of
# test_dnssec.sh; knot (knotd, keymgr) is its optional signer (DNSSEC_TARGET=knot).
test="dnsutils bind9-dnsutils knot knot-dnsutils ldnsutils libmaxmind-db-writer-perl mmdb-bin clang-format python3
 curl prometheus chromium
 mandoc unbound"
# make deb: dpkg-buildpackage and dh, the Build-Depends of debian/control
# beyond the build set, systemd-analyze for test_package.sh. One a line.
package="
dpkg-dev
debhelper
libcap-dev
libsystemd-dev
systemd
"
# pdns-backend-sqlite3 and sqlite3: PowerDNS with DNSSEC (pdnsutil secure-zone)
# for the signed rows of the bench.
bench="nsd gdnsd pdns-server pdns-backend-bind pdns-backend-geoip pdns-backend-sqlite3 sqlite3
 serf util-linux procps iproute2"

want=""
[ $# -eq 0 ] && set -- build
for set in "$@"; do
	case "$set" in
	build) want="$want $build" ;;
	test) want="$want $build $test $package" ;;
	package) want="$want $build $package" ;;
	demo) want="$want $build $test" ;;
	bench) want="$want $build $test $bench" ;;
	*) echo "deps.sh: unknown set '$set'" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# Server packages (nsd, knot, gdnsd) must not start system services: the bench
# and test_tsig.sh run their own instances on loopback ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	cleanup_rc=1
fi
# Try with the package lists we have; refresh them once if that fails
# (a fresh machine has none, or stale ones).
# shellcheck disable=SC2086
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
	$missing >/dev/null 2>&1; then
	$SUDO apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		$missing >/dev/null
fi
[ "${cleanup_rc:-0}" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
exit 0
