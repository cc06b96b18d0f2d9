# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # The platform and action_group attributes of the modules that do not use the domain_tuning
    # fragment (which carries the same two attributes for the tuning modules).

    # Modules that talk to libvirt (or read libvirt XML offline): in the libvirt action group.
    LIBVIRT = r'''
options: {}
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
    details:
      - Runs where libvirt-python can reach the libvirt daemon named by the connection URI, usually the
        hypervisor itself; offline input (XML, capabilities) needs neither libvirt nor a hypervisor.
  action_group:
    description: Use C(group/virtuned.libvirt.libvirt) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - virtuned.libvirt.libvirt
'''

    # Modules that change the host itself (sysfs, the boot configuration): Linux only, no libvirt
    # connection, so not in the libvirt action group.
    LINUX_HOST = r'''
options: {}
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: linux
    details:
      - Reads and writes the Linux host's own files (sysfs, C(/proc), the boot configuration).
  action_group:
    description: Action is part of action_group(s), for convenient setting of module_defaults.
    support: none
    membership: []
    details:
      - Not in the C(virtuned.libvirt.libvirt) group; it takes no libvirt connection options.
'''
