#!/bin/sh
# Installs rpcbind-ts in place of the distribution's rpcbind: the systemd units (linked as
# rpcbind.service and rpcbind.socket), the man pages, an example configuration and the
# /usr/local/sbin/rpcbind-ts launcher, then switches the running service over.
#
#   sudo deploy/install.sh               install and start (stops the distribution's rpcbind)
#   deploy/install.sh --root DIR         only lay the files out under DIR (no systemctl)
#
# Run from a built checkout (npm ci has compiled dist/). Node.js 20 or newer must be on PATH.
set -eu
ROOT=
START=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=${2:?--root needs a directory}; START=no; shift 2 ;;
    --no-start) START=no; shift ;;
    *) echo "usage: $0 [--root DIR] [--no-start]" >&2; exit 2 ;;
  esac
done
SRC=$(cd "$(dirname "$0")/.." && pwd)
NODE=$(command -v node) || { echo "install.sh: node is not on PATH" >&2; exit 1; }
[ -f "$SRC/dist/src/daemon/main.bundle.cjs" ] || { echo "install.sh: $SRC is not built (run npm ci)" >&2; exit 1; }

UNITS=$ROOT/etc/systemd/system
SBIN=$ROOT/usr/local/sbin
MAN8=$ROOT/usr/local/share/man/man8
mkdir -p "$UNITS" "$SBIN" "$MAN8" "$ROOT/etc"

install -m 0644 "$SRC/deploy/rpcbind-ts.service" "$SRC/deploy/rpcbind-ts.socket" "$UNITS/"
# The aliases systemctl enable would make; made here so that they exist even where the
# distribution's rpcbind.service (in /lib) has the same name.
ln -sfn rpcbind-ts.service "$UNITS/rpcbind.service"
ln -sfn rpcbind-ts.socket "$UNITS/rpcbind.socket"

for cmd in rpcbind rpcinfo; do
  [ -f "$SRC/bin/$cmd.js" ] || continue
  printf '#!/bin/sh\nexec %s %s "$@"\n' "$NODE" "$SRC/bin/$cmd.js" > "$SBIN/$cmd-ts"
  chmod 0755 "$SBIN/$cmd-ts"
done
for page in "$SRC"/man/*.8; do install -m 0644 "$page" "$MAN8/"; done
[ -e "$ROOT/etc/rpcbind-ts.conf" ] || install -m 0644 "$SRC/deploy/rpcbind-ts.conf.example" "$ROOT/etc/rpcbind-ts.conf"

[ "$START" = yes ] || exit 0
# The distribution's units share port 111 and /run/rpcbind.sock.
systemctl stop rpcbind.service rpcbind.socket 2>/dev/null || true
systemctl daemon-reload
systemctl enable rpcbind-ts.socket rpcbind-ts.service
systemctl restart rpcbind-ts.socket rpcbind-ts.service
systemctl --no-pager status rpcbind-ts.service
