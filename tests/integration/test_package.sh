#!/usr/bin/env bash
# make install and make deb: (a) `make install DESTDIR=... PREFIX=/usr` lays
# out ayad, ayactl, the man pages of man/, the examples and ayad.service with
# the right modes; the unit is the contract (Type=notify, watchdog, the
# not-configured marker, ExecStart) and passes systemd-analyze verify; the
# installed ayad checks the installed example; make uninstall removes it all.
# (b) `make deb` builds the package from a copy of the tree (not the outer
# build/); its contents, control data, conffiles and scripts are what
# debian/ says, and the extracted ayad checks the extracted configs.
# Never dpkg -i. About 2 minutes, most of it the package build.
. "$(dirname "$0")/lib.sh"

cd "$ROOT" || exit 1
# Our caller may be a make: its jobserver is not ours.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory "$@"; }

# mode PATH WANT: the file exists with this octal mode.
mode() {
	local got
	got=$(stat -c %a "$1" 2>/dev/null) || {
		echo "# missing: $1"
		return 1
	}
	[ "$got" = "$2" ] || {
		echo "# $1: mode $got, want $2"
		return 1
	}
}

# verify_unit FILE SBIN: systemd-analyze verify with ExecStart pointed at the
# ayad we have (verify wants the executable to exist); any message fails
# (verify exits 0 on unknown keys and bad values, it only prints them).
verify_unit() {
	local f=$1 sbin=$2 out
	if ! command -v systemd-analyze >/dev/null; then
		ok "systemd-analyze verify $f # SKIP no systemd-analyze"
		return
	fi
	mkdir -p "$T/verify"
	sed "s|^ExecStart=[^ ]*/ayad |ExecStart=$sbin |" "$f" >"$T/verify/ayad.service"
	if out=$(systemd-analyze verify --man=no "$T/verify/ayad.service" 2>&1) && [ -z "$out" ]; then
		ok "systemd-analyze verify $(basename "$f")"
	else
		not_ok "systemd-analyze verify $(basename "$f")"
		echo "$out" | sed 's/^/#   /'
	fi
}

# unit_contract FILE SBINDIR: the directives other parts of Aya rely on.
unit_contract() {
	local f=$1 sbindir=$2 line
	for line in "Type=notify" "NotifyAccess=all" "WatchdogSec=30s" "TimeoutStopSec=30s" \
		"ExecStart=$sbindir/ayad -c /etc/aya/aya.yaml" 'ExecReload=/bin/kill -HUP $MAINPID' \
		"Restart=on-failure" "User=aya" "Group=aya" \
		"AmbientCapabilities=CAP_NET_BIND_SERVICE" "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" \
		"NoNewPrivileges=yes" "ProtectSystem=strict" "MemoryDenyWriteExecute=yes" \
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" "StateDirectory=aya" \
		"StateDirectoryMode=0750" "RuntimeDirectory=aya" "LimitNOFILE=65536" \
		"Documentation=man:ayad(8) man:aya.yaml(5)" "Wants=network-online.target" \
		"After=network-online.target" "WantedBy=multi-user.target"; do
		grep -qxF "$line" "$f" || {
			echo "# $f: no line '$line'"
			return 1
		}
	done
	grep -q '^ExecCondition=/bin/sh -c .*grep -q "^# aya: not configured yet" /etc/aya/aya.yaml' "$f" || {
		echo "# $f: no ExecCondition on the marker"
		return 1
	}
	! grep -q '@[A-Z]*@' "$f" || {
		echo "# $f: unsubstituted @VAR@"
		return 1
	}
}

# The marker's ExecCondition, run as a shell would: 1 (skip) with the marker,
# 0 (start) without it.
marker_condition() {
	local conf=$1 cmd
	cmd=$(sed -n "s|^ExecCondition=/bin/sh -c '\(.*\)'\$|\1|p" "$2")
	cmd=${cmd//\/etc\/aya\/aya.yaml/$conf}
	sh -c "$cmd" 2>/dev/null
}

# --- (a) make install ---------------------------------------------------------
R=$T/root
if mk install DESTDIR="$R" PREFIX=/usr >"$T/install.log" 2>&1; then
	ok "make install DESTDIR PREFIX=/usr"
else
	not_ok "make install DESTDIR PREFIX=/usr"
	sed 's/^/#   /' "$T/install.log"
fi
check "ayad 0755 in /usr/sbin" mode "$R/usr/sbin/ayad" 755
check "ayactl 0755 in /usr/bin" mode "$R/usr/bin/ayactl" 755
check "ayad.service 0644 in /usr/lib/systemd/system" mode "$R/usr/lib/systemd/system/ayad.service" 644
for f in examples/aya.yaml examples/services.yaml examples/zones/svc.example.com.zone; do
	check "$f 0644 in /usr/share/doc/aya" mode "$R/usr/share/doc/aya/$f" 644
done
nman=0
for f in man/*.8 man/*.5; do
	[ -e "$f" ] || continue
	nman=$((nman + 1))
	check "$f 0644 in /usr/share/man/man${f##*.}" mode "$R/usr/share/man/man${f##*.}/${f##*/}" 644
done
echo "# $nman man page(s) in man/"
check "nothing under /etc" test ! -e "$R/etc"
check "nothing else installed" test -z "$(cd "$R" && find . -type f | grep -v \
	-e '^./usr/sbin/ayad$' -e '^./usr/bin/ayactl$' -e '^./usr/lib/systemd/system/ayad.service$' \
	-e '^./usr/share/doc/aya/examples/' -e '^./usr/share/man/man[58]/[^/]*\.[58]$')"

UNIT=$R/usr/lib/systemd/system/ayad.service
check "installed unit: the contract" unit_contract "$UNIT" /usr/sbin
verify_unit "$UNIT" "$R/usr/sbin/ayad"
printf '# aya: not configured yet\nnode: {name: a, region: b}\n' >"$T/marked.yaml"
printf 'node: {name: a, region: b}\n' >"$T/unmarked.yaml"
check "ExecCondition skips (exit 1) while the marker is there" \
	test "$(marker_condition "$T/marked.yaml" "$UNIT"; echo $?)" = 1
check "ExecCondition lets it start without the marker" marker_condition "$T/unmarked.yaml" "$UNIT"

check "installed ayad --version" "$R/usr/sbin/ayad" --version
check "installed ayactl --help" "$R/usr/bin/ayactl" --help
check "installed ayad --check on the installed examples/aya.yaml" \
	"$R/usr/sbin/ayad" --check -c "$R/usr/share/doc/aya/examples/aya.yaml"
# services.yaml needs a geo database (its geo.database is relative to the
# project's checkout): with the shared one named by an absolute path it passes.
MMDB=$ROOT/../shared/geo/dbip-country-lite.mmdb
if [ -r "$MMDB" ]; then
	sed -i "s|^\(  database: \).*|\1$MMDB|" "$R/usr/share/doc/aya/examples/services.yaml"
	check "installed ayad --check on the installed examples/services.yaml (geo database set)" \
		"$R/usr/sbin/ayad" --check -c "$R/usr/share/doc/aya/examples/services.yaml"
else
	ok "services.yaml --check # SKIP no $MMDB"
fi

if mk uninstall DESTDIR="$R" PREFIX=/usr >"$T/uninstall.log" 2>&1; then
	ok "make uninstall"
else
	not_ok "make uninstall"
	sed 's/^/#   /' "$T/uninstall.log"
fi
check "make uninstall leaves no file" test -z "$(find "$R" -type f)"

# The default PREFIX is /usr/local, also in the unit.
mk install DESTDIR="$T/local" >/dev/null 2>&1
check "default PREFIX /usr/local" test -x "$T/local/usr/local/sbin/ayad"
check "default PREFIX: ExecStart=/usr/local/sbin/ayad" \
	grep -qxF "ExecStart=/usr/local/sbin/ayad -c /etc/aya/aya.yaml" \
	"$T/local/usr/local/lib/systemd/system/ayad.service"

# --- (b) make deb -------------------------------------------------------------
# B on the command line: the package is built under $T, not in the tree's
# build/ (make deb puts it in $(B)/deb/).
DB=$T/b
start=$(date +%s)
if mk deb B="$DB" >"$T/deb.log" 2>&1; then
	ok "make deb ($(($(date +%s) - start)) s)"
else
	not_ok "make deb"
	sed 's/^/#   /' "$T/deb.log"
fi
ver=$(dpkg-parsechangelog -l debian/changelog -S Version)
arch=$(dpkg --print-architecture)
DEB=$DB/deb/aya_${ver}_${arch}.deb
check "make deb leaves aya_${ver}_${arch}.deb" test -s "$DEB"
check "the version is AYA_VERSION" \
	grep -q "define AYA_VERSION \"$ver\"" daemon/ayad.h
check "the inner build compiled the tree itself" grep -q "CC      common/log.c" "$DB/deb/build.log"
# The copy is the tracked files (as in the working tree): no build/ of ours,
# nothing untracked. Its own build/ and debian/ products are the build's.
copy_is_tracked() {
	diff <(cd "$DB/deb/aya" && find . -type f -not -path './build/*' -not -path './debian/*' |
		sed 's|^\./||' | sort) \
		<(git ls-files | grep -v '^debian/' | while read -r f; do [ -e "$f" ] && echo "$f"; done |
			sort) >"$T/copy.diff"
}
check "the copy is the tree's tracked files, without build/" copy_is_tracked
sed 's/^/#   /' "$T/copy.diff" | head -n 20
echo "# $(ls -l "$DEB" 2>/dev/null)"

dpkg-deb -c "$DEB" >"$T/contents" 2>&1
has() { grep -qE " \./$1\$" "$T/contents" || {
	echo "# not in the package: /$1"
	return 1
}; }
check "package: /usr/sbin/ayad" has usr/sbin/ayad
check "package: /usr/bin/ayactl" has usr/bin/ayactl
check "package: ayad.service under /lib or /usr/lib" has "(usr/)?lib/systemd/system/ayad.service"
check "package: /etc/aya/aya.yaml" has etc/aya/aya.yaml
check "package: /etc/aya/zones/svc.example.com.zone" has etc/aya/zones/svc.example.com.zone
check "package: examples" has usr/share/doc/aya/examples/aya.yaml
for f in man/*.8 man/*.5; do
	[ -e "$f" ] || continue
	check "package: man page ${f##*/}" has "usr/share/man/man${f##*.}/${f##*/}(\.gz)?"
done
check "package: no /var/lib/aya (postinst makes it)" sh -c "! grep -q ' ./var/lib/aya' '$T/contents'"
grep -E 'sbin/ayad|ayad.service|etc/aya' "$T/contents" | sed 's/^/# /'

dpkg-deb -I "$DEB" >"$T/info" 2>&1
check "dpkg-deb -I: conffiles lists /etc/aya/aya.yaml" \
	sh -c "dpkg-deb -I '$DEB' conffiles | grep -qx /etc/aya/aya.yaml"
deps=$(dpkg-deb -f "$DEB" Depends)
echo "# Depends: $deps"
check "Depends: adduser" grep -qw adduser <<<"$deps"
check "Depends: the shared libraries (shlibs)" grep -q "libldns3.*libssl3\|libssl3.*libldns3" <<<"$deps"
for s in postinst postrm prerm; do
	check "dpkg-deb -I: $s" grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\* +$s " "$T/info"
done
mkdir -p "$T/ctrl"
dpkg-deb -e "$DEB" "$T/ctrl"
check "postinst: system user and group aya" grep -q "adduser --system --ingroup aya" "$T/ctrl/postinst"
check "postinst: /var/lib/aya aya:aya 0750" grep -q "install -d -o aya -g aya -m 0750 /var/lib/aya" \
	"$T/ctrl/postinst"
check "postinst: SIGUSR2 on upgrade" grep -qF "systemctl kill -s USR2 --kill-whom=main ayad.service" \
	"$T/ctrl/postinst"
check "postinst: enables the unit" grep -q "deb-systemd-helper enable 'ayad.service'" "$T/ctrl/postinst"
check "postinst: never starts or restarts it" \
	sh -c "! grep -qE 'deb-systemd-invoke (start|restart|try-restart)' '$T/ctrl/postinst'"
check "no preinst stop on upgrade" test ! -e "$T/ctrl/preinst"
check "prerm: stop on remove only" grep -q 'deb-systemd-invoke stop ayad.service' "$T/ctrl/prerm"
check "postrm: purge removes /var/lib/aya" grep -q "rm -rf /var/lib/aya" "$T/ctrl/postrm"
for s in postinst postrm prerm; do
	check "$s: sh -n" sh -n "$T/ctrl/$s"
done

X=$T/x
dpkg-deb -x "$DEB" "$X"
check "extracted ayad 0755" mode "$X/usr/sbin/ayad" 755
check "extracted ayad --version" "$X/usr/sbin/ayad" --version
check "packaged ayad: no sanitizer (even under make test SANITIZE=1)" \
	sh -c "! readelf -d '$X/usr/sbin/ayad' | grep -q 'NEEDED.*\(asan\|ubsan\)'"
check "packaged ayad: hardened (bindnow, stack protector)" sh -c \
	"readelf -d '$X/usr/sbin/ayad' | grep -q BIND_NOW && nm -D '$X/usr/sbin/ayad' | grep -q __stack_chk_fail"
check "extracted ayad --check on the extracted examples/aya.yaml" \
	"$X/usr/sbin/ayad" --check -c "$X/usr/share/doc/aya/examples/aya.yaml"
XUNIT=$(ls "$X"/lib/systemd/system/ayad.service "$X"/usr/lib/systemd/system/ayad.service 2>/dev/null | head -n1)
check "package unit: the contract" unit_contract "$XUNIT" /usr/sbin
verify_unit "$XUNIT" "$X/usr/sbin/ayad"

# /etc/aya/aya.yaml: the marker first, so the unit skips it; ayad itself
# reads it (the marker is a comment) and wants only the keyring the file
# tells the operator to make.
CONF=$X/etc/aya/aya.yaml
check "conffile: the first line is the marker" test "$(head -n1 "$CONF")" = "# aya: not configured yet"
check "conffile: the unit's ExecCondition skips it" \
	test "$(marker_condition "$CONF" "$XUNIT"; echo $?)" = 1
"$X/usr/sbin/ayad" --check -c "$CONF" >"$T/conf.out" 2>&1
check "conffile without its keyring: ayad --check names gossip.keyring" \
	grep -q "gossip.keyring: cannot open '$X/etc/aya/gossip.keys'" "$T/conf.out"
head -c 32 /dev/urandom | base64 >"$X/etc/aya/gossip.keys"
check "conffile with a keyring: ayad --check passes (three regions, one service)" \
	"$X/usr/sbin/ayad" --check -c "$CONF"
sed -i 1d "$CONF"
check "conffile without the marker: ExecCondition lets it start" marker_condition "$CONF" "$XUNIT"

finish
