#!/bin/sh
# Installs rpcbind-ts in place of the distribution's rpcbind on a systemd distribution other
# than Debian (on Debian, build and install the package instead: npm run deb). The units go to
# /etc/systemd/system under the distribution's names, rpcbind.service and rpcbind.socket, where
# they override the distribution's own units of the same name: `systemctl ... rpcbind`,
# `journalctl -u rpcbind`, units that want rpcbind.socket and the distribution's own package
# scripts (which stop and start rpcbind.service) all meet ours. Also the /usr/local/sbin/rpcbind-ts
# and rpcinfo-ts launchers, the man pages, the lock file's tmpfiles entry, and if absent
# /etc/rpcbind-ts.conf.
#
#   sudo deploy/install.sh               install and start (the distribution's daemon stops)
#   sudo deploy/install.sh --uninstall   remove ours; the distribution's units take over again
#   deploy/install.sh --root DIR         only lay the files out under DIR (no systemctl)
#
# Run from a built checkout (npm ci has compiled dist/). Node.js 18.20 or newer must be on PATH.
set -eu
ROOT=
START=yes
UNINSTALL=no
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=${2:?--root needs a directory}; START=no; shift 2 ;;
    --no-start) START=no; shift ;;
    --uninstall) UNINSTALL=yes; shift ;;
    *) echo "usage: $0 [--root DIR] [--no-start] [--uninstall]" >&2; exit 2 ;;
  esac
done
SRC=$(cd "$(dirname "$0")/.." && pwd)
UNITS=$ROOT/etc/systemd/system
SBIN=$ROOT/usr/local/sbin
MAN8=$ROOT/usr/local/share/man/man8
TMPFILES=$ROOT/etc/tmpfiles.d

if [ "$UNINSTALL" = yes ]; then
  [ "$START" = no ] || systemctl stop rpcbind.socket rpcbind.service 2>/dev/null || true
  rm -f "$UNITS/rpcbind.service" "$UNITS/rpcbind.socket" "$TMPFILES/rpcbind-ts.conf" \
    "$SBIN/rpcbind-ts" "$SBIN/rpcinfo-ts" "$MAN8/rpcbind-ts.8" "$MAN8/rpcinfo-ts.8"
  [ "$START" = no ] && exit 0
  systemctl daemon-reload
  # The distribution's units again, if it has them (enable links pointed at ours).
  systemctl reenable rpcbind.socket rpcbind.service 2>/dev/null || true
  systemctl start rpcbind.socket rpcbind.service 2>/dev/null || true
  exit 0
fi

NODE=$(command -v node) || { echo "install.sh: node is not on PATH" >&2; exit 1; }
[ -f "$SRC/dist/src/cli/rpcbind.bundle.cjs" ] || { echo "install.sh: $SRC is not built (run npm ci)" >&2; exit 1; }
# The daemon runs as the distribution's rpcbind user (it can read that daemon's warm-start
# files), else as daemon.
RUNAS=daemon
for user in _rpc rpc; do
  if getent passwd "$user" >/dev/null 2>&1; then RUNAS=$user; break; fi
done

mkdir -p "$UNITS" "$SBIN" "$MAN8" "$TMPFILES" "$ROOT/etc"
sed -e "s|^ExecStart=/usr/sbin/rpcbind |ExecStart=/usr/local/sbin/rpcbind-ts |" \
    -e "s|^User=.*|User=$RUNAS|" \
    -e "s|^Documentation=man:rpcbind(8)|Documentation=man:rpcbind-ts(8)|" \
    "$SRC/deploy/rpcbind.service" > "$UNITS/rpcbind.service"
sed -e "s|^Documentation=man:rpcbind(8)|Documentation=man:rpcbind-ts(8)|" \
    "$SRC/deploy/rpcbind.socket" > "$UNITS/rpcbind.socket"
chmod 0644 "$UNITS/rpcbind.service" "$UNITS/rpcbind.socket"
install -m 0644 "$SRC/deploy/rpcbind-ts.tmpfiles" "$TMPFILES/rpcbind-ts.conf"

FLAGS=$(sed -n '1s/^#!.*node *//p' "$SRC/bin/rpcbind.js")
printf '#!/bin/sh\nexec %s %s %s "$@"\n' "$NODE" "$FLAGS" "$SRC/bin/rpcbind.js" > "$SBIN/rpcbind-ts"
printf '#!/bin/sh\nexec %s %s "$@"\n' "$NODE" "$SRC/bin/rpcinfo.js" > "$SBIN/rpcinfo-ts"
chmod 0755 "$SBIN/rpcbind-ts" "$SBIN/rpcinfo-ts"
for page in "$SRC"/man/*.8; do install -m 0644 "$page" "$MAN8/"; done
[ -e "$ROOT/etc/rpcbind-ts.conf" ] || install -m 0644 "$SRC/deploy/rpcbind-ts.conf.example" "$ROOT/etc/rpcbind-ts.conf"

[ "$START" = yes ] || exit 0
# /etc/systemd/system wins over the distribution's units of the same name.
systemctl stop rpcbind.socket rpcbind.service 2>/dev/null || true
systemctl daemon-reload
systemd-tmpfiles --create rpcbind-ts.conf
systemctl enable rpcbind.socket rpcbind.service
systemctl start rpcbind.socket rpcbind.service
systemctl --no-pager status rpcbind.service
