# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names of what the engine asks the libvirt edge to do, and the edge method of each.

Areas plan LiveOp(live_ops.PIN_VCPU, args, text); LibvirtEdge.run() looks the name up in
LIVE_OPS and calls that method with AFFECT_LIVE. Host actions (HOST_ACTIONS) act on the
hypervisor host after a define, not on the running guest. No libvirt import here: the areas
import these names. A unit test checks that every name resolves to a LibvirtEdge method.
"""

from __future__ import annotations

PIN_VCPU = "pin_vcpu"
PIN_EMULATOR = "pin_emulator"
PIN_IOTHREAD = "pin_iothread"
SET_SCHEDULER = "set_scheduler"
SET_MEMORY_PARAMETERS = "set_memory_parameters"
SET_NUMA_PARAMETERS = "set_numa_parameters"
SET_VCPUS = "set_vcpus"
SET_VCPU = "set_vcpu"
ADD_IOTHREAD = "add_iothread"
DEL_IOTHREAD = "del_iothread"
SET_IOTHREAD_PARAMS = "set_iothread_params"
ATTACH_DEVICE = "attach_device"
DETACH_DEVICE = "detach_device"
SET_MEMORY = "set_memory"
SET_METADATA = "set_metadata"

# name -> LibvirtEdge method(dom, *args), on the running guest
LIVE_OPS = {
    PIN_VCPU: "live_pin_vcpu",
    PIN_EMULATOR: "live_pin_emulator",
    PIN_IOTHREAD: "live_pin_iothread",
    SET_SCHEDULER: "live_set_scheduler",
    SET_MEMORY_PARAMETERS: "live_set_memory_parameters",
    SET_NUMA_PARAMETERS: "live_set_numa_parameters",
    SET_VCPUS: "live_set_vcpus",
    SET_VCPU: "live_set_vcpu",
    ADD_IOTHREAD: "live_add_iothread",
    DEL_IOTHREAD: "live_del_iothread",
    SET_IOTHREAD_PARAMS: "live_set_iothread_params",
    ATTACH_DEVICE: "live_attach_device",
    DETACH_DEVICE: "live_detach_device",
    SET_MEMORY: "live_set_memory",
    SET_METADATA: "live_set_metadata",
}

RESET_NVRAM = "reset_nvram"

# name -> LibvirtEdge method(dom, *args), on the hypervisor host
HOST_ACTIONS = {
    RESET_NVRAM: "reset_nvram",
}
