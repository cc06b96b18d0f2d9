#!/usr/bin/env bash
# make demo: define and boot a small guest, pin it with virtuned.libvirt.cputune (with --diff),
# show what libvirt reports live and persistently, then run the playbook again (changed=0).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/tests"
virsh="virsh -c qemu:///system"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if ! $virsh dominfo virtuned-demo >/dev/null 2>&1; then
  say "Defining the demo guest (virtuned-demo: 2 vCPUs, 256 MiB, no disk)"
  for type in kvm qemu; do
    sed "s/DOMAIN_TYPE/$type/" "$root/demo/guest.xml" >"$root/.build/demo-guest.xml"
    $virsh define "$root/.build/demo-guest.xml" >/dev/null
    if $virsh start virtuned-demo >/dev/null 2>&1; then
      echo "running under ${type^^}"
      break
    fi
    echo "could not start under ${type^^}; trying TCG" >&2
    $virsh undefine virtuned-demo >/dev/null
  done
fi
$virsh domstate virtuned-demo | grep -q running || $virsh start virtuned-demo >/dev/null

ncpu=$(nproc --all)
say "Check mode first: what would change (nothing is written)"
"$root/.venv/bin/ansible-playbook" "$root/demo/playbook.yml" --check --diff -e host_cpu_count="$ncpu"

say "First run: ansible-playbook demo/playbook.yml --diff"
"$root/.venv/bin/ansible-playbook" "$root/demo/playbook.yml" --diff -e host_cpu_count="$ncpu"

say "What libvirt reports for the running guest"
$virsh vcpupin virtuned-demo --live
$virsh emulatorpin virtuned-demo --live

say "The persistent definition (virsh dumpxml --inactive, <cputune>)"
$virsh dumpxml --inactive virtuned-demo | sed -n '/<cputune>/,/<\/cputune>/p'

say "Second run: nothing left to change"
"$root/.venv/bin/ansible-playbook" "$root/demo/playbook.yml" --diff -e host_cpu_count="$ncpu" | tee "$root/.build/demo-second.log"
grep -Eq 'changed=0 ' "$root/.build/demo-second.log" && echo "second run: changed=0"
echo
echo "The demo guest keeps running; remove it with: virsh -c qemu:///system destroy virtuned-demo; virsh -c qemu:///system undefine virtuned-demo"
