#!/usr/bin/env bash
# make demo: the site job on this host, run as a user would run it.
#  1. defines and boots two small demo guests (one dedicated, one shared; 128 MiB, no disk);
#  2. runs the site playbook demo/site.yml (numa_pinning, guest side; the dedicated guest's 2 MiB pages through
#     hugepages_host where the host allows): first --check --diff, then for real, printing the role's summary;
#  3. changes one request (demo/changed.yml: the shared guest gets an I/O thread, live, and moves to 2 MiB pages,
#     which waits for its next boot), then restarts what waits (numa_pinning_restart: if_needed, force_off);
#  4. runs again and fails unless the recap says changed=0;
#  5. leaves the host as it found it: destroys and undefines the demo guests and shrinks the 2 MiB pool back to
#     its size before the demo (DEMO_KEEP=1 keeps the guests and the pages).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
uri=qemu:///system
virsh="virsh -c $uri"
prefix=${DEMO_PREFIX:-virtuned-demo}
dedicated=$prefix-dedicated
shared=$prefix-shared
pool=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
build=$root/.build/demo
mkdir -p "$build"
export ANSIBLE_PYTHON_INTERPRETER=${ANSIBLE_PYTHON_INTERPRETER:-$root/.venv/bin/python}
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}
# the role skips many steps that do not apply here; the output shows what ran
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=${ANSIBLE_DISPLAY_SKIPPED_HOSTS:-false}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# One demo at a time on this machine: a second one waits.
exec 9>"${DEMO_LOCK:-/tmp/virtuned-demo.lock}"
flock 9

pool_before=
[ -r "$pool" ] && pool_before=$(cat "$pool")

leave_host_as_found() {
  status=$?
  if [ "${DEMO_KEEP:-0}" = 1 ]; then
    say "DEMO_KEEP=1: keeping $dedicated and $shared (and the 2 MiB pool at $(cat "$pool" 2>/dev/null))"
    echo "remove them with: $virsh destroy NAME; $virsh undefine NAME; echo ${pool_before:-0} > $pool"
    exit "$status"
  fi
  say "Leaving the host as the demo found it"
  for name in "$dedicated" "$shared"; do
    if $virsh dominfo "$name" >/dev/null 2>&1; then
      $virsh destroy "$name" >/dev/null 2>&1 || true
      $virsh undefine "$name" >/dev/null && echo "destroyed and undefined $name"
    fi
  done
  # The role only grows the pool: shrink it back to its size before the demo. A pool that is smaller now was
  # shrunk by someone else meanwhile (pages the demo found and did not reserve): it is left as it is.
  if [ -n "$pool_before" ] && [ -w "$pool" ]; then
    now=$(cat "$pool")
    if [ "$now" -gt "$pool_before" ]; then
      echo "$pool_before" >"$pool"
      echo "2 MiB hugepage pool: $now -> $(cat "$pool") pages (its size before the demo)"
    elif [ "$now" = "$pool_before" ]; then
      echo "2 MiB hugepage pool: $now pages, as before the demo"
    else
      echo "2 MiB hugepage pool: $now pages (it had $pool_before before the demo; someone else gave pages back: left as it is)"
    fi
  fi
  exit "$status"
}
trap leave_host_as_found EXIT

define_guest() {  # NAME VCPUS: define and boot under KVM, else TCG
  local name=$1 vcpus=$2 type
  $virsh destroy "$name" >/dev/null 2>&1 || true
  $virsh undefine "$name" >/dev/null 2>&1 || true
  for type in kvm qemu; do
    sed -e "s/DOMAIN_TYPE/$type/" -e "s/GUEST_NAME/$name/" -e "s/GUEST_VCPUS/$vcpus/" \
      "$root/demo/guest.xml" >"$build/$name.xml"
    $virsh define "$build/$name.xml" >/dev/null
    if $virsh start "$name" >/dev/null 2>&1; then
      echo "$name: $vcpus vCPU, 128 MiB, no disk, running under ${type^^}"
      return 0
    fi
    echo "$name: could not start under ${type^^}; trying TCG" >&2
    $virsh undefine "$name" >/dev/null
  done
  echo "$name: could not start" >&2
  return 1
}

playbook() {  # the site playbook, as a user runs it; the output is kept for the recap check
  local log=$1
  shift
  printf '$ ansible-playbook -i demo/inventory.yml demo/site.yml %s\n' "$*"
  "$root/.venv/bin/ansible-playbook" -i demo/inventory.yml demo/site.yml -e demo_prefix="$prefix" "$@" \
    | tee "$build/$log.log"
}

recap_changed() {  # the changed= count of the recap in a kept log
  sed -n 's/.*changed=\([0-9]*\).*/\1/p' "$build/$1.log" | tail -1
}

backing() {  # NAME [--inactive]: the memory backing libvirt reports (live, or the persistent definition)
  local size
  size=$($virsh dumpxml "$@" | sed -n "s/.*<page size='\([0-9]*\)' unit='KiB'.*/\1/p" | head -1)
  if [ -n "$size" ]; then echo "$((size / 1024)) MiB pages"; else echo "small pages"; fi
}

report() {  # what libvirt reports for the running guests, and the 2 MiB pool
  local name
  for name in "$dedicated" "$shared"; do
    printf '%s (%s)\n' "$name" "$($virsh domstate "$name")"
    printf '  live pins: vCPU %s, emulator %s' \
      "$($virsh vcpupin "$name" --live | awk 'NR > 2 && NF {printf "%s%s -> CPU %s", sep, $1, $2; sep = ", "}')" \
      "$($virsh emulatorpin "$name" --live | awk -F': ' '/\*/ {print "-> CPU " $2}')"
    $virsh iothreadinfo "$name" --live 2>/dev/null | awk 'NR > 2 && NF {printf ", iothread %s -> CPU %s", $1, $2}'
    echo
    echo "  memory: live on $(backing "$name"), persistent definition on $(backing "$name" --inactive)"
  done
  if [ -r "$pool" ]; then
    echo "2 MiB pool: $(cat "$pool") pages, $(cat "${pool%/nr_hugepages}/free_hugepages") free"
  fi
}

say "Two demo guests (defined here: the role places guests, it does not create them)"
define_guest "$dedicated" 1
define_guest "$shared" 1
[ -n "$pool_before" ] && echo "2 MiB hugepage pool before the demo: $pool_before pages"

say "1. Check mode first: what the site job would change (nothing is written)"
playbook check --check --diff

say "2. The site job: ansible-playbook demo/site.yml --diff"
playbook first --diff

say "What libvirt reports now"
report

say "3. A changed request (demo/changed.yml): the shared guest gets an I/O thread and moves to 2 MiB pages"
cat demo/changed.yml
playbook changed --diff -e @demo/changed.yml

say "What libvirt reports now: the I/O thread runs, the 2 MiB pages wait for a boot"
report

say "4. Restart what waits: numa_pinning_restart=if_needed (demo guests have no OS: force_off after 10 s)"
playbook restart --diff -e @demo/changed.yml -e numa_pinning_restart=if_needed -e numa_pinning_force_off=true

say "What libvirt reports now"
report

say "5. Again: nothing left to change"
playbook again -e @demo/changed.yml
changed=$(recap_changed again)
if [ "$changed" != 0 ]; then
  echo "demo FAILED: the last run reports changed=$changed, expected changed=0" >&2
  exit 1
fi
echo "last run: changed=0"
