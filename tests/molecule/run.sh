#!/usr/bin/env bash
# Runs the molecule scenarios of the host roles (hugepages_host, numa_pinning) with the delegated
# driver against localhost and fake root trees; no container engine. Usage: run.sh [scenario ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$root/.build/collections}"
export ANSIBLE_PYTHON_INTERPRETER="${ANSIBLE_PYTHON_INTERPRETER:-$root/.venv/bin/python}"
export ANSIBLE_ROLES_PATH="$root/roles"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 ANSIBLE_NOCOLOR=1
unset ANSIBLE_CONFIG  # molecule writes its own ansible.cfg per scenario

# The roles are used through the collection (virtuned.libvirt.<role>), so it must be on the path.
if [ ! -e "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/virtuned/libvirt/roles" ]; then
  mkdir -p "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/virtuned"
  ln -sfn "$root" "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/virtuned/libvirt"
fi
if [ "$(id -u)" != 0 ]; then
  echo "molecule: the host-role scenarios change sysfs and /etc on localhost: run them as root" >&2
  exit 1
fi

# The scenarios share localhost (sysfs pools, qemu.conf, libvirtd): one run at a time.
mkdir -p /run/virtuned-molecule
exec 9>/run/virtuned-molecule/.lock
if ! flock -n 9; then
  echo "molecule: another run holds /run/virtuned-molecule/.lock; waiting for it"
  flock 9
fi

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(role_variables hugepages_host numa_pinning numa_pinning_host numa_pinning_guests
                                         bootloader)
cd "$here/.."   # molecule looks for ./molecule/<scenario>
failed=()
for scenario in "${scenarios[@]}"; do
  start=$SECONDS
  echo "=== molecule test -s $scenario"
  if molecule test -s "$scenario"; then
    echo "=== $scenario passed in $((SECONDS - start))s"
  else
    echo "=== $scenario FAILED after $((SECONDS - start))s"
    failed+=("$scenario")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "molecule: failed scenarios: ${failed[*]}" >&2
  exit 1
fi
echo "molecule: all scenarios passed (${scenarios[*]})"
