"""reset_nvram on a real q35 UEFI guest: a secure-boot toggle removes the old NVRAM (fresh at the next start).

This host's KVM has no System Management Mode, which secure-boot firmware needs, so the guest is
defined but not started; its NVRAM file is made from the OVMF template as libvirt makes it.
"""

import os
import shutil

from conftest import run_module
from integration.conftest import guest_xml

NAME = "vt-it-boot-nvram"
NVRAM = "/var/lib/libvirt/qemu/nvram/%s_VARS.fd" % NAME
TEMPLATE = "/usr/share/OVMF/OVMF_VARS_4M.fd"


def q35_efi_guest():
    xml = guest_xml(NAME, vcpus=1, memory_mib=256)
    xml = xml.replace("<type arch='x86_64' machine='pc'>hvm</type>", "<type arch='x86_64' machine='q35'>hvm</type>")
    xml = xml.replace("<os>", "<os firmware='efi'><firmware><feature enabled='no' name='secure-boot'/></firmware>", 1)
    return xml.replace("<features><acpi/></features>", "<features><acpi/><smm state='on'/></features>")


def test_secure_boot_toggle_with_reset_nvram(guests):
    guests(NAME, xml=q35_efi_guest(), start=False)
    os.makedirs(os.path.dirname(NVRAM), exist_ok=True)
    shutil.copyfile(TEMPLATE, NVRAM)
    args = {"uri": "qemu:///system", "name": NAME, "firmware": "efi",
            "firmware_features": {"secure_boot": True, "enrolled_keys": True}, "reset_nvram": True}
    try:
        checked = run_module("boot_firmware", args, check=True)
        assert (checked["changed"], checked["host_changes"]) == (
            True, ["reset the NVRAM: fresh from its template at the next start"])
        assert os.path.exists(NVRAM)

        done = run_module("boot_firmware", args)
        assert (done["changed"], done["restart_required"], done["host_changes"]) == (
            True, False, ["reset the NVRAM: fresh from its template at the next start"])
        assert done["after"]["firmware_features"] == {"secure_boot": True, "enrolled_keys": True}
        assert not os.path.exists(NVRAM)

        again = run_module("boot_firmware", args)
        assert (again["changed"], again.get("host_changes")) == (False, None)
    finally:
        if os.path.exists(NVRAM):
            os.unlink(NVRAM)
