#!/bin/sh
# Builds a minimal Debian root filesystem for the booted-systemd tests (test/system).
#   make-rootfs.sh SUITE DIR
# DIR appears complete or not at all (built beside it, then renamed). The guest has no network,
# so everything a test installs is put in now: systemd, Debian's nodejs, nfs-common with
# Debian's rpcbind (the host the package replaces), and the .debs of Debian's rpcbind and
# nfs-common kept in /var/cache/apt/archives for the way back.
set -eu
SUITE=${1:?suite}
DIR=${2:?directory}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WORK=$(mktemp -d "$DIR.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,nodejs,nfs-common,rpcbind,iproute2,procps \
  "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || { tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }
# Security updates: Debian's nodejs and rpcbind as an administrator has them.
cat >"$ROOT/etc/apt/sources.list" <<EOS
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
EOS
chroot "$ROOT" sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get -y -qq upgrade &&
  apt-get clean && apt-get -y -qq --download-only --reinstall install rpcbind nfs-common' >"$WORK/apt.log" 2>&1 \
  || { tail -n 30 "$WORK/apt.log" >&2; exit 1; }
# A guest that boots quietly: no getty, a hostname, no wait for a network it does not have.
echo guest >"$ROOT/etc/hostname"
ln -sf /dev/null "$ROOT/etc/systemd/system/console-getty.service"
ln -sf /dev/null "$ROOT/etc/systemd/system/getty@.service"
ln -sf /dev/null "$ROOT/etc/systemd/system/systemd-networkd-wait-online.service"
# rpc_pipefs cannot be mounted in a container: nfs-common's units must not wait for it.
for unit in run-rpc_pipefs.mount var-lib-nfs-rpc_pipefs.mount; do
  mkdir -p "$ROOT/etc/systemd/system/$unit.d"
  printf '[Unit]\nConditionPathExists=/nonexistent-in-container\n' >"$ROOT/etc/systemd/system/$unit.d/container.conf"
done
[ -n "${ROOTFS_ID:-}" ] && echo "$ROOTFS_ID" >"$ROOT/.rootfs-id"
rm -rf "$DIR"
mv "$ROOT" "$DIR"
