#!/usr/bin/env bash
# Prepare this machine as a libvirt/KVM test bed for virtuned.libvirt.
#
# What it changes, and only where it has to:
#  * installs libvirt, QEMU and OVMF from Debian's packages when virsh/libvirtd are missing;
#  * when no libvirt daemon is running (a fresh CI/sandbox machine without systemd), it
#    - sets user/group "root" in /etc/libvirt/qemu.conf (sandboxes give /dev/kvm to root only),
#    - sets hugetlbfs_mount and mounts hugetlbfs at /dev/hugepages,
#    - starts virtlogd and libvirtd by hand.
# A host whose libvirt daemon already runs (a real hypervisor) is left exactly as it is.
set -euo pipefail

say() { printf 'testbed: %s\n' "$*"; }

if ! command -v libvirtd >/dev/null 2>&1 || ! command -v virsh >/dev/null 2>&1 \
   || ! command -v virt-xml-validate >/dev/null 2>&1 || ! pkg-config --exists libvirt 2>/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    say "libvirt is not installed and this is not root: install libvirt-daemon-system qemu-system-x86 libvirt-dev pkg-config libxml2-utils ovmf"
    exit 1
  fi
  say "installing libvirt, QEMU and OVMF from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends libvirt-daemon-system libvirt-daemon-driver-qemu \
    qemu-system-x86 qemu-utils libvirt-clients libvirt-dev pkg-config libxml2-utils ovmf gcc >/dev/null
fi

# --packages-only: the Debian packages the virtualenv builds against (libvirt-dev for libvirt-python)
# and the unit tests use (virt-xml-validate, the test driver); no daemon, no qemu.conf change.
if [ "${1:-}" = --packages-only ]; then
  exit 0
fi

daemon_running() {
  [ -S /run/libvirt/libvirt-sock ] && virsh -c qemu:///system version >/dev/null 2>&1
}

if daemon_running; then
  say "libvirt daemon already running: leaving its configuration alone"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  say "no libvirt daemon running and not root: start libvirtd first"
  exit 1
fi

conf=/etc/libvirt/qemu.conf
if ! grep -q '^# virtuned test bed' "$conf"; then
  say "editing $conf: user/group root, hugetlbfs_mount=/dev/hugepages (test bed only)"
  cat >>"$conf" <<'CONF'
# virtuned test bed: QEMU runs as root because /dev/kvm is root-only in this sandbox
user = "root"
group = "root"
hugetlbfs_mount = "/dev/hugepages"
CONF
fi

mkdir -p /dev/hugepages
if ! mountpoint -q /dev/hugepages; then
  say "mounting hugetlbfs at /dev/hugepages"
  mount -t hugetlbfs hugetlbfs /dev/hugepages || say "could not mount hugetlbfs (hugepage guests will not start)"
fi

say "starting virtlogd and libvirtd"
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for _ in $(seq 1 50); do
  daemon_running && break
  sleep 0.2
done
daemon_running || { say "libvirtd did not come up"; exit 1; }
say "libvirt $(virsh -c qemu:///system version --daemon 2>/dev/null | awk '/daemon/ {print $NF}') ready on qemu:///system"
