"""boot_firmware on a booted KVM guest: EFI waits for a restart, then does not flap; the host's firmware is consulted."""

import libvirt

from conftest import run_module

NAME = "vt-it-boot-firmware"


def boot(check_mode=False, **args):
    return run_module("boot_firmware", dict(args, uri="qemu:///system", name=NAME), check=check_mode)


def test_efi_takes_effect_after_a_restart_and_never_flaps(guests):
    dom = guests(NAME, vcpus=1)
    args = {"firmware": "efi", "boot_order": ["network", "hd"]}

    check = boot(check_mode=True, **args)
    assert (check["changed"], check["restart_required"], check["live_changes"]) == (True, True, [])
    assert "firmware='efi'" not in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)

    result = boot(**args)
    assert (result["changed"], result["restart_required"], result["live_changes"]) == (True, True, [])
    assert result["pending_restart"] == ["boot_firmware.firmware", "boot_firmware.boot_order"]
    assert "<os firmware='efi'>" in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    again = boot(**args)
    assert (again["changed"], again["restart_required"]) == (False, True)

    dom.destroy()
    dom.create()
    live = dom.XMLDesc(0)
    # libvirt expanded firmware='efi' into a concrete loader and NVRAM for the running guest
    assert "<loader readonly='yes' type='pflash'>/usr/share/OVMF/" in live
    assert "<nvram template=" in live
    assert "<boot dev='network'/>\n    <boot dev='hd'/>" in live
    after = boot(**args)
    assert (after["changed"], after["restart_required"], after["live_changes"]) == (False, False, [])
    gathered = boot(state="gathered")["gathered"]
    assert gathered == {"firmware": "efi", "boot_order": ["network", "hd"]}
    assert boot(state="replaced", **gathered)["changed"] is False


def test_host_refuses_what_its_firmware_cannot_do(guests):
    guests(NAME, vcpus=1, start=False)
    loader = boot(loader={"path": "/usr/share/OVMF/NoSuch.fd", "type": "pflash"})
    assert loader["failed"] is True
    assert loader["msg"].startswith("loader.path: '/usr/share/OVMF/NoSuch.fd' is not valid on this host for pc-i440fx")
    assert "/usr/share/OVMF/OVMF_CODE_4M.fd" in loader["msg"]
    secure = boot(firmware="efi", firmware_features={"secure_boot": True})
    assert secure["msg"].startswith("firmware_features.secure_boot: true is not valid on this host for pc-i440fx")
