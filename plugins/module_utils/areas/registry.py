# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every tuning area, by module name (static imports, so that AnsiballZ ships them)."""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas import (
    boot_firmware, cpu_model, cputune, iothreads, memory_backing, memory_devices, memtune, metadata, numa, vcpus,
)

# The order areas are applied in one call: the ones others check against come first
# (vCPU counts and iothreads before pinning, cells before hugepage nodesets).
AREAS = {area.name: area for area in (
    vcpus.AREA, cpu_model.AREA, numa.AREA, memory_devices.AREA, iothreads.AREA,
    cputune.AREA, memtune.AREA, memory_backing.AREA, boot_firmware.AREA, metadata.AREA,
)}
