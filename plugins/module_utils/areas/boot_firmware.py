# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot_firmware area: <os> except <type> (firmware, loader, NVRAM, direct kernel boot, boot order).

libvirt keeps ``firmware='efi'`` in the persistent definition and expands it into a concrete
<loader> and <nvram> only in the running guest's XML; the live comparison knows that, so an
EFI guest never shows a pending change because of it. Nothing applies live.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge import live_ops
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import Area, HostAction
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import (
    Attr, Bool, Enum, Field, Group, Int, Request, ScalarList, Str, Text,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import (
    ensure_path, etree, find_path, insert_child, is_empty, remove_element,
)

BOOT_DEVICES = ("hd", "cdrom", "network", "fd")


class FirmwareFeatures(Field):
    """<os><firmware><feature name=... enabled=.../></firmware> as {option: bool}."""

    NAMES = {"secure_boot": "secure-boot", "enrolled_keys": "enrolled-keys"}

    def __init__(self, name, **kwargs):
        super().__init__(name, "os/firmware", **kwargs)

    def doc_type(self):
        return "dict"

    def argspec(self):
        spec = super().argspec()
        spec["options"] = {option: {"type": "bool"} for option in self.NAMES}
        return spec

    def normalise(self, value, option):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise option_error(option, value, "expected a dictionary")
        return {key: None if value.get(key) is None else Bool().parse(value[key], "%s.%s" % (option, key))
                for key in self.NAMES}

    def read(self, context):
        elem = find_path(context, self.path)
        if elem is None:
            return None
        values = {key: None for key in self.NAMES}
        for feature in elem.findall("feature"):
            for key, name in self.NAMES.items():
                if feature.get("name") == name:
                    values[key] = feature.get("enabled") == "yes"
        return values

    def write(self, context, value):
        elem = find_path(context, self.path)
        if not value or all(v is None for v in value.values()):
            if elem is not None:
                remove_element(elem, stop=context)
            return
        elem = ensure_path(context, self.path)
        for key, name in self.NAMES.items():
            found = [f for f in elem.findall("feature") if f.get("name") == name]
            for extra in found[1:]:
                elem.remove(extra)
            if value.get(key) is None:
                if found:
                    elem.remove(found[0])
                continue
            feature = found[0] if found else insert_child(elem, etree.Element("feature"))
            feature.set("enabled", "yes" if value[key] else "no")
            feature.set("name", name)
        if is_empty(elem):
            remove_element(elem, stop=context)

    def comparable(self, value):
        if not value or all(v is None for v in value.values()):
            return None
        return tuple(sorted(value.items()))

    def merge(self, current, desired):
        if desired is None:
            return current
        current = current or {}
        return {key: desired.get(key) if desired.get(key) is not None else current.get(key) for key in self.NAMES}

    def to_options(self, value):
        if not value:
            return None
        shown = {key: v for key, v in value.items() if v is not None}
        return shown or None


FIELDS = [
    Attr("firmware", "firmware", Enum("efi", "bios"), path="os"),
    FirmwareFeatures("firmware_features"),
    Group("loader", "os/loader", [
        Text("path", None, Str()),
        Attr("type", "type", Enum("rom", "pflash")),
        Attr("readonly", "readonly", Bool()),
        Attr("secure", "secure", Bool()),
        Attr("stateless", "stateless", Bool()),
    ]),
    Group("nvram", "os/nvram", [Text("path", None, Str()), Attr("template", "template", Str())]),
    Text("kernel", "os/kernel", Str()),
    Text("initrd", "os/initrd", Str()),
    Text("cmdline", "os/cmdline", Str()),
    Text("dtb", "os/dtb", Str()),
    ScalarList("boot_order", "os/boot", "dev", Enum(*BOOT_DEVICES)),
    Group("bootmenu", "os/bootmenu", [Attr("enable", "enable", Bool()), Attr("timeout", "timeout", Int(0, 65535))]),
    # not stored in the XML: when secure boot is turned on or off, also start from a fresh NVRAM
    Request("reset_nvram", Bool()),
]


def _default_boot(root, values):
    """libvirt adds <boot dev='hd'/> when no device has a boot order (also with a kernel)."""
    if values.get("boot_order"):
        return values
    if root is not None and root.find("devices//boot") is not None:
        return values
    values["boot_order"] = ["hd"]
    return values


def fill_in(values, root):
    return _default_boot(root, values)


def adjust_target(result, view):
    return _default_boot(view.root, result)


def validate(target, ctx):
    """Direct kernel boot, firmware features, and (when connected) what the host's firmware offers."""
    for option in ("initrd", "cmdline", "dtb"):
        if target[option] is not None and target["kernel"] is None:
            raise TuningError("%s: %r is not valid without kernel (direct kernel boot)" % (option, target[option]))
    features = target["firmware_features"] or {}
    if any(v is not None for v in features.values()) and target["firmware"] != "efi":
        raise TuningError("firmware_features: %s is not valid: firmware features need firmware efi (firmware is %s)"
                          % (FirmwareFeatures("x").to_options(features), target["firmware"] or "not set"))
    if features.get("enrolled_keys") and features.get("secure_boot") is False:
        raise TuningError("firmware_features.enrolled_keys: true is not valid with secure_boot false")
    _check_paths(target)
    _check_bootmenu(target)
    _check_autoselection(target)
    _check_stateless(target)
    _check_secure_loader(target, ctx)
    warnings = []
    if _secure_boot_toggled(target, ctx.current) and not target.get("reset_nvram"):
        warnings.append("firmware_features.secure_boot: the guest's NVRAM still holds the variables of the old "
                        "setting; set reset_nvram: true (or start the guest once with virsh start --reset-nvram) "
                        "for the change to take effect")
    caps = ctx.host("domain_capabilities")
    if caps is not None:
        _check_host(target, caps)
    return warnings


def _absolute(path):
    """libvirt's absFilePath (src/conf/schemas/basictypes.rng): '/...' or a drive letter."""
    return path.startswith("/") and len(path) > 1 or (len(path) > 3 and path[0].isalpha() and path[1:3] == ":\\")


def _check_paths(target):
    """kernel, initrd, dtb, loader, NVRAM and its template are absolute file paths (domaincommon.rng)."""
    paths = [("kernel", target["kernel"]), ("initrd", target["initrd"]), ("dtb", target["dtb"]),
             ("loader.path", (target["loader"] or {}).get("path")), ("nvram.path", (target["nvram"] or {}).get("path")),
             ("nvram.template", (target["nvram"] or {}).get("template"))]
    for option, path in paths:
        if path and not _absolute(path):
            raise TuningError("%s: %r is not valid: libvirt needs an absolute path (it resolves no path relative to "
                              "anything)" % (option, path))


def _check_bootmenu(target):
    """src/conf/domain_conf.c virDomainDefParseBootOptions: a timeout is read only for an enabled menu."""
    menu = target["bootmenu"]
    if menu and menu.get("timeout") is not None and menu.get("enable") is None:
        raise TuningError("bootmenu.enable: required with bootmenu.timeout: libvirt's schema needs enable (true or "
                          "false) on <bootmenu>")
    if menu and menu.get("timeout") is not None and menu.get("enable") is False:
        raise TuningError("bootmenu.timeout: %d is not valid with enable false: libvirt keeps a timeout only for an "
                          "enabled boot menu (it drops this one)" % menu["timeout"])


def _check_autoselection(target):
    """src/conf/domain_validate.c virDomainDefOSValidate: what firmware autoselection (firmware set) excludes, and
    what a hand-picked loader (firmware not set) needs."""
    firmware, loader, nvram = target["firmware"], target["loader"] or {}, target["nvram"] or {}
    if firmware is not None:
        for key, text in (("readonly", "readonly"), ("type", "type"), ("path", "path")):
            if loader.get(key) is not None:
                raise TuningError("loader.%s: %r is not valid with firmware %s: libvirt chooses the loader when "
                                  "firmware is set (firmware autoselection); drop loader.%s or firmware"
                                  % (key, loader[key], firmware, text))
        if loader.get("secure") is False:
            raise TuningError("loader.secure: false is not valid with firmware %s: with firmware autoselection, "
                              "secure boot is asked for with firmware_features.secure_boot" % firmware)
        if nvram.get("template") is not None:
            raise TuningError("nvram.template: %r is not valid with firmware %s: libvirt chooses the template when "
                              "firmware is set (firmware autoselection)" % (nvram["template"], firmware))
        if firmware != "efi" and any(value is not None for value in nvram.values()):
            raise TuningError("nvram: %s is not valid with firmware %s: firmware type '%s' does not support nvram"
                              % (AREA.by_name["nvram"].to_options(nvram), firmware, firmware))
    elif (any(value is not None for value in loader.values()) or any(value is not None for value in nvram.values())) \
            and loader.get("path") is None:
        raise TuningError("loader.path: required: without firmware (autoselection) a loader or NVRAM needs the "
                          "loader's path (libvirt: no loader path specified and firmware auto selection disabled)")


def _check_stateless(target):
    loader, nvram = target["loader"] or {}, target["nvram"] or {}
    if loader.get("stateless") is True and any(value is not None for value in nvram.values()):
        raise TuningError("nvram: %s is not valid with loader.stateless true: a stateless loader has no NVRAM"
                          % AREA.by_name["nvram"].to_options(nvram))
    if loader.get("stateless") is False:
        if target["firmware"] is None and loader.get("type") != "pflash":
            raise TuningError("loader.stateless: false is not valid with loader type %s: only a pflash loader "
                              "keeps NVRAM" % (loader.get("type") or "not set"))
        if target["firmware"] not in (None, "efi"):
            raise TuningError("loader.stateless: false is not valid with firmware %s: only EFI firmware keeps NVRAM"
                              % target["firmware"])


def _check_secure_loader(target, ctx):
    """src/qemu/qemu_validate.c qemuValidateDomainDefBoot: QEMU's limits on a secure loader."""
    if (target["loader"] or {}).get("secure") is not True:
        return
    os_type = ctx.root.find("os/type")
    machine = (os_type.get("machine") if os_type is not None else None) or ""
    arch = os_type.get("arch") if os_type is not None else None
    if "q35" not in machine:
        raise TuningError("loader.secure: true is not valid with machine type %s: QEMU supports secure boot with "
                          "q35 machine types only" % (machine or "not set"))
    if arch not in (None, "x86_64"):
        raise TuningError("loader.secure: true is not valid on %s: secure boot is supported for x86_64 only" % arch)
    if target["firmware"] is None and ctx.root.find("features/smm") is None:
        raise TuningError("loader.secure: true is not valid without the SMM feature (<features><smm state='on'/>): "
                          "secure boot requires SMM")


def _check_host(target, caps):
    machine = caps.findtext("machine") or "this machine type"
    firmware = target["firmware"]
    if firmware is not None:
        offered = [(v.text or "").strip() for v in caps.findall("os/enum[@name='firmware']/value")]
        if firmware not in offered:
            kind = "UEFI" if firmware == "efi" else "BIOS"
            raise TuningError("firmware: %r is not valid on this host for %s: no %s firmware is installed for "
                              "firmware autoselection (firmware offered: %s)"
                              % (firmware, machine, kind, ", ".join(offered) or "none"))
    path = (target["loader"] or {}).get("path")
    if path is not None:
        paths = [(v.text or "").strip() for v in caps.findall("os/loader/value")]
        if paths and path not in paths:
            raise TuningError("loader.path: %r is not valid on this host for %s: its firmware images are %s"
                              % (path, machine, ", ".join(paths)))
    features = target["firmware_features"] or {}
    # libvirt turns secure-boot on with enrolled-keys (virDomainDefPostParseOs, src/conf/domain_postparse.c)
    secure = features.get("secure_boot") or features.get("enrolled_keys") or (target["loader"] or {}).get("secure")
    if secure:
        values = [(v.text or "").strip() for v in caps.findall("os/loader/enum[@name='secure']/value")]
        if "yes" not in values:
            raise TuningError("firmware_features.secure_boot: true is not valid on this host for %s: its firmware "
                              "offers no secure boot (a q35 machine type and OVMF secboot images are needed)" % machine)


def _secure_boot_toggled(area_target, current):
    before = (current.get("firmware_features") or {}).get("secure_boot")
    after = (area_target.get("firmware_features") or {}).get("secure_boot")
    return before is not None and after is not None and before != after


# --------------------------------------------------------------------------- live

def live_view(live_root, view):
    """Nothing applies live. An EFI guest's live XML holds the loader and NVRAM libvirt chose for
    firmware='efi' (and no firmware attribute): that is the same request as the definition's."""
    live, defined = view.read_area(live_root), view.target
    live_os = live_root.find("os")
    expanded = live_os is not None and live_os.get("firmware") is None and live_os.find("loader") is not None
    if defined["firmware"] == "efi" and expanded:
        live["firmware"] = "efi"
        for option in ("loader", "nvram"):
            if defined[option] is None:
                live[option] = None
        secure = live_os.find("loader").get("secure") == "yes"
        if bool((defined["firmware_features"] or {}).get("secure_boot")) == secure:
            live["firmware_features"] = defined["firmware_features"]
    return live


def reset_nvram_actions(values, view):
    """With reset_nvram, a secure-boot toggle also removes the old NVRAM (fresh at the next start)."""
    if not (values.target.get("reset_nvram") and _secure_boot_toggled(values.target, values.current)):
        return []
    path = (values.target.get("nvram") or {}).get("path")
    return [HostAction(live_ops.RESET_NVRAM, (path,), "reset the NVRAM%s: fresh from its template at the next start"
                       % (" " + path if path else ""))]


AREA = Area("boot_firmware", FIELDS, diff_paths=["os"], validate=validate, fill_in=fill_in,
            adjust_target=adjust_target, live_view=live_view, after_define=reset_nvram_actions,
            description="boot and firmware: <os> except <type>")
