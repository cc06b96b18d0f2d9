# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # The options every tuning module shares (plugins/module_utils/runner/module.py COMMON_ARGSPEC).
    DOCUMENTATION = r'''
options:
  name:
    description:
      - Name of the libvirt domain to tune.
      - Exactly one of O(name), O(uuid) and O(xml) is required.
    type: str
  uuid:
    description:
      - UUID of the libvirt domain to tune.
    type: str
  xml:
    description:
      - A domain XML document to tune offline, with no libvirt connection at all.
      - The resulting domain XML is returned as RV(xml). Nothing is defined and nothing is applied live.
      - Secrets in the document (graphics passwords) are masked in every output, the returned XML included.
      - At most 4194304 bytes (libvirt's remote protocol limit for a domain XML, C(REMOTE_STRING_MAX)).
    type: str
  uri:
    description:
      - libvirt connection URI.
      - Defaults to the E(LIBVIRT_DEFAULT_URI) environment variable, else V(qemu:///system).
      - Credentials in the URI never appear in results, diffs or messages.
    type: str
  state:
    description:
      - V(merged) sets what is given and keeps the rest of the area.
      - V(replaced) makes the area exactly what is given.
      - V(deleted) removes what is given, or the whole area when no area option is given.
      - V(gathered) changes nothing and returns the area's persistent settings as RV(gathered),
        in the shape of this module's options.
    type: str
    choices: [merged, replaced, deleted, gathered]
    default: merged
  live:
    description:
      - When the guest is running, also apply the change to it wherever libvirt can.
      - The persistent definition is always updated. What cannot change live is reported
        through RV(restart_required), RV(pending_restart) and RV(pending_reasons).
      - What is known not to work on a running guest (unplugging vCPUs plugged at boot, or vCPUs of
        a CPU model QEMU cannot unplug) is not tried; it waits for the next boot in check mode and
        in a real run alike.
      - After the live calls the running guest is read back; a change it has not completed (a DIMM
        it keeps, a balloon target it does not follow) is listed in RV(live_pending) with a warning,
        and is not asked again while the definition already holds it.
      - When the definition was written and a live call then fails, the task fails with
        C(changed=true), RV(live_changes) (what was applied live) and RV(pending_restart) (what waits).
        When libvirt refuses the definition itself, nothing was changed (C(changed=false)).
    type: bool
    default: true
  backup:
    description:
      - Keep the previous persistent domain XML in a file (mode 0600) before changing it;
        its path is returned as RV(backup_file).
    type: bool
    default: false
  backup_dir:
    description:
      - Directory for O(backup) files.
      - Defaults to V(/var/lib/virtuned-libvirt/backups) for root, else V(~/.cache/virtuned-libvirt/backups).
    type: path
  dest:
    description:
      - With O(xml), also write the complete resulting domain XML to this file, secrets (graphics
        passwords) kept, so that it can be defined as it is. The file is created with mode 0600
        (an existing file is set to 0600 too) and rewritten only when its content differs, which
        counts as a change.
      - The returned RV(xml) stays masked.
      - Only valid with O(xml).
    type: path
  restart:
    description:
      - What to do when the guest runs and part of the change waits for its next boot
        (RV(restart_required) is true). Nothing is done otherwise, and a guest that is not running is never started.
      - V(never) leaves the guest running as it is; what waits is in RV(pending_restart).
      - V(if_needed) asks the guest to shut down (ACPI), waits up to O(shutdown_timeout) seconds and starts it
        again. A guest that has not stopped by then is powered off when O(force_off=true); otherwise it is left
        running and the task fails (C(changed=true) when the definition was written), saying that the
        definition holds the change and what waits for the next boot.
      - After the start the running guest is read back. What waited and is in force is listed in RV(in_force),
        and RV(pending_restart) is empty; an option still not in force fails the task, naming it.
      - A guest that was shut down and does not start again fails the task; it is left shut off.
      - In check mode nothing is shut down or started; RV(restarted) says whether the guest would be restarted.
      - Not valid with O(xml) (an offline run has no guest to restart).
    type: str
    choices: [never, if_needed]
    default: never
  shutdown_timeout:
    description:
      - Seconds to wait for the guest to shut down after the ACPI request of O(restart=if_needed); 0 or more.
      - C(restart_timeout) is its older name (domain_tuning O(restart_timeout) of C(guests)).
    type: int
    default: 120
    aliases: [restart_timeout]
  force_off:
    description:
      - With O(restart=if_needed), power the guest off (as C(virsh destroy), without shutting its OS down)
        when it has not shut down within O(shutdown_timeout) seconds.
    type: bool
    default: false
notes:
  - Check mode runs the same code as a real run and skips only the define and the live calls,
    so C(changed) is the same in both.
  - With C(--diff), the area's persistent XML is shown before and after.
  - The persistent (inactive) definition is compared after normalising both sides
    (CPU sets, sizes and units, booleans, element order, defaults libvirt fills in).
requirements:
  - python >= 3.9
  - lxml
  - libvirt-python (not needed with O(xml))
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
    details:
      - Runs where libvirt-python can reach the libvirt daemon named by O(uri), usually the hypervisor itself;
        with O(xml) it needs neither libvirt nor a hypervisor.
  action_group:
    description: Use C(group/virtuned.libvirt.libvirt) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - virtuned.libvirt.libvirt
'''
