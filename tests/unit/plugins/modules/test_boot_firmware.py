"""boot_firmware module: offline (xml) and on the libvirt test driver (persistent path)."""

import pytest

from conftest import fixture_text, run_module

BASE = fixture_text("guest-minimal.xml")  # <os><type .../></os>, no boot element


def area_warnings(xml, params):
    """The area's warnings, asserted at the engine (module warnings go to stdout or stderr depending on
    the Ansible display mode other tests left behind)."""
    from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.boot_firmware import AREA
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import converge
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
    full = {f.name: None for f in AREA.fields}
    full.update(params)
    return converge(parse_domain(xml), [(AREA, full, "merged")])[0].warnings


def test_no_boot_element_reads_as_libvirts_default_hd():
    assert run_module("boot_firmware", {"xml": BASE, "state": "gathered"})["gathered"] == {"boot_order": ["hd"]}
    assert run_module("boot_firmware", {"xml": BASE, "boot_order": ["hd"]})["changed"] is False


def test_efi_boot_order_and_menu():
    args = {"firmware": "efi", "boot_order": ["network", "hd"], "bootmenu": {"enable": True, "timeout": 3000}}
    result = run_module("boot_firmware", dict(args, xml=BASE))
    assert result["changed"] is True
    assert result["after"] == {"firmware": "efi", "boot_order": ["network", "hd"],
                               "bootmenu": {"enable": True, "timeout": 3000}}
    assert result["diff"]["after"] == (
        '<os firmware="efi">\n  <type arch="x86_64" machine="pc">hvm</type>\n  <boot dev="network"/>\n'
        '  <boot dev="hd"/>\n  <bootmenu enable="yes" timeout="3000"/>\n</os>\n')
    again = run_module("boot_firmware", dict(args, xml=result["xml"]))
    assert again["changed"] is False and again["xml"] == result["xml"]
    reordered = run_module("boot_firmware", {"xml": result["xml"], "boot_order": ["hd", "network"]})
    assert reordered["after"]["boot_order"] == ["hd", "network"]


def test_secure_boot_features_and_the_nvram_warning():
    xml = run_module("boot_firmware", {"xml": BASE, "firmware": "efi",
                                       "firmware_features": {"secure_boot": False}})["xml"]
    result = run_module("boot_firmware", {"xml": xml, "firmware_features": {"secure_boot": True, "enrolled_keys": True}})
    assert ('<firmware>\n      <feature enabled="yes" name="secure-boot"/>\n'
            '      <feature enabled="yes" name="enrolled-keys"/>\n    </firmware>') in result["xml"]
    assert result["after"]["firmware_features"] == {"secure_boot": True, "enrolled_keys": True}
    assert area_warnings(xml, {"firmware_features": {"secure_boot": True}}) == [
        "firmware_features.secure_boot: the guest's NVRAM still holds the variables of the old setting; set "
        "reset_nvram: true (or start the guest once with virsh start --reset-nvram) for the change to take effect"]
    assert area_warnings(xml, {"firmware_features": {"secure_boot": True}, "reset_nvram": True}) == []


def test_direct_kernel_boot_and_its_removal():
    args = {"kernel": "/boot/vmlinuz", "initrd": "/boot/initrd.img", "cmdline": "console=ttyS0"}
    result = run_module("boot_firmware", dict(args, xml=BASE))
    assert result["diff"]["after"] == (
        '<os>\n  <type arch="x86_64" machine="pc">hvm</type>\n  <kernel>/boot/vmlinuz</kernel>\n'
        '  <initrd>/boot/initrd.img</initrd>\n  <cmdline>console=ttyS0</cmdline>\n</os>\n')
    assert result["after"] == dict(args, boot_order=["hd"])  # libvirt's default boot device, kernel or not
    removed = run_module("boot_firmware", {"xml": result["xml"], "state": "deleted", "kernel": "", "initrd": "",
                                           "cmdline": ""})
    assert removed["diff"]["after"] == '<os>\n  <type arch="x86_64" machine="pc">hvm</type>\n</os>\n'
    assert removed["after"] == {"boot_order": ["hd"]}


def test_explicit_loader_and_nvram_round_trip():
    xml = run_module("boot_firmware", {"xml": BASE, "loader": {"path": "/usr/share/OVMF/OVMF_CODE_4M.fd",
                                                               "type": "pflash", "readonly": True},
                                       "nvram": {"path": "/var/lib/libvirt/qemu/nvram/x_VARS.fd",
                                                 "template": "/usr/share/OVMF/OVMF_VARS_4M.fd"}})["xml"]
    assert ('<loader type="pflash" readonly="yes">/usr/share/OVMF/OVMF_CODE_4M.fd</loader>\n'
            '    <nvram template="/usr/share/OVMF/OVMF_VARS_4M.fd">/var/lib/libvirt/qemu/nvram/x_VARS.fd</nvram>') in xml
    gathered = run_module("boot_firmware", {"xml": xml, "state": "gathered"})["gathered"]
    assert run_module("boot_firmware", dict(gathered, xml=xml, state="replaced"))["changed"] is False
    deleted = run_module("boot_firmware", {"xml": xml, "state": "deleted", "loader": {}, "nvram": {}})
    assert "<loader" not in deleted["xml"] and "<nvram" not in deleted["xml"]


@pytest.mark.parametrize("args, message", [
    ({"initrd": "/boot/initrd.img"}, "initrd: '/boot/initrd.img' is not valid without kernel (direct kernel boot)"),
    ({"firmware_features": {"secure_boot": True}},
     "firmware_features: {'secure_boot': True} is not valid: firmware features need firmware efi (firmware is not set)"),
    ({"firmware": "efi", "firmware_features": {"secure_boot": False, "enrolled_keys": True}},
     "firmware_features.enrolled_keys: true is not valid with secure_boot false"),
    ({"boot_order": ["usb"]}, "value of boot_order must be one or more of: hd, cdrom, network, fd. Got no match for: usb"),
    ({"bootmenu": {"enable": True, "timeout": 70000}}, "bootmenu.timeout: 70000 is not valid: must be between 0 and 65535"),
])
def test_refusals(args, message):
    result = run_module("boot_firmware", dict(args, xml=BASE))
    assert result["failed"] is True
    assert result["msg"] == message


def test_check_mode_reports_the_same_change():
    real = run_module("boot_firmware", {"xml": BASE, "firmware": "efi"})
    check = run_module("boot_firmware", {"xml": BASE, "firmware": "efi"}, check=True)
    assert check["changed"] is real["changed"] is True
    assert check["after"] == real["after"]


def test_testdriver_persistent_path(testdriver):
    conn, created = testdriver
    created.append("vt-ut-boot")
    dom = conn.defineXML(BASE.replace("<name>vt-probe</name>", "<name>vt-ut-boot</name>"))
    args = {"uri": "test:///default", "name": "vt-ut-boot", "boot_order": ["cdrom", "hd"],
            "bootmenu": {"enable": True}}
    assert run_module("boot_firmware", args, check=True)["changed"] is True
    assert "<boot dev='cdrom'/>" not in dom.XMLDesc(2)
    result = run_module("boot_firmware", args)
    assert (result["changed"], result["restart_required"]) == (True, False)
    from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.boot_firmware import AREA
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
    root = parse_domain(dom.XMLDesc(2))
    assert AREA.to_options(AREA.read(root)) == {"boot_order": ["cdrom", "hd"], "bootmenu": {"enable": True}}
    assert [(child.tag, dict(child.attrib)) for child in root.find("os")] == [
        ("type", {"arch": "x86_64", "machine": "pc"}), ("boot", {"dev": "cdrom"}), ("boot", {"dev": "hd"}),
        ("bootmenu", {"enable": "yes"})]
    assert run_module("boot_firmware", args)["changed"] is False
