# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iothreads area: <iothreads>, <iothreadids>, <defaultiothread>, and which iothread
each virtio disk and virtio-scsi controller uses (<driver iothread=...> on existing devices).

Canonical form: ``iothreadids`` always lists every iothread (libvirt numbers those that
<iothreadids> leaves out from 1 up), and ``count`` is their number, so a bare
``<iothreads>2</iothreads>`` and ids 1 and 2 compare equal. Pinning is cputune's.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge import live_ops
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import Area, LiveOp, NotLive
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import (
    Attr, Field, Group, Int, Items, Text,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import etree, find_path, insert_child, to_string
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import MAX_IOTHREADS

VIRTIO_SCSI = ("virtio-scsi", "virtio-transitional", "virtio-non-transitional")
POLL_SINCE = (9, 4, 0)  # libvirt keeps <iothread><poll> in the definition from 9.4.0


class DeviceAttribute(Field):
    """An attribute on the <driver> of EXISTING devices, as a list of {key, value} items.

    The devices are found by ``key`` (a disk's target dev, a controller's index); this field
    only sets or removes the attribute, never creates or deletes a device. Devices that lack
    the attribute are not listed (and ``replaced`` removes it from those not given).
    """

    def __init__(self, name, device_path, key, key_of, value, attr, kind, select=None, **kwargs):
        super().__init__(name, None, **kwargs)
        self.device_path, self.key, self.key_of = device_path, key, key_of
        self.value, self.attr, self.kind, self.select = value, attr, kind, select
        self.key_type = Int(0) if key == "index" else None

    def doc_type(self):
        return "list"

    def argspec(self):
        return {"type": "list", "elements": "dict", "options": {
            self.key: {"type": "int" if self.key_type else "str", "required": True},
            self.value: {"type": "int"},
        }}

    def devices(self, root):
        """{key: device element} of the devices this field can address."""
        found = {}
        parent, tag = self.device_path.rsplit("/", 1)
        container = find_path(root, parent)
        for elem in (container.findall(tag) if container is not None else []):
            if self.select is not None and not self.select(elem):
                continue
            ident = self.key_of(elem)
            if ident is not None:
                found.setdefault(ident, elem)
        return found

    def normalise(self, value, option):
        if value is None:
            return None
        if not isinstance(value, list):
            raise option_error(option, value, "expected a list")
        items, seen = [], {}
        for index, raw in enumerate(value):
            where = "%s[%d]" % (option, index)
            if not isinstance(raw, dict):
                raise option_error(where, raw, "expected a dictionary")
            unknown = set(raw) - {self.key, self.value}
            if unknown:
                raise option_error(where, raw, "unknown key %r; expected %s, %s" % (sorted(unknown)[0], self.key, self.value))
            if raw.get(self.key) is None:
                raise option_error(where, raw, "'%s' is required (it identifies the %s)" % (self.key, self.kind))
            ident = (self.key_type.parse(raw[self.key], "%s.%s" % (where, self.key)) if self.key_type
                     else str(raw[self.key]))
            if ident in seen:
                raise option_error("%s.%s" % (where, self.key), raw[self.key], "%s %s appears twice (items %d and %d)"
                                   % (self.key, ident, seen[ident], index))
            seen[ident] = index
            number = raw.get(self.value)
            items.append({self.key: ident,
                          self.value: None if number is None else Int(1).parse(number, "%s.%s" % (where, self.value))})
        return items

    def read(self, context):
        items = []
        for ident, elem in self.devices(context).items():
            driver = elem.find("driver")
            text = driver.get(self.attr) if driver is not None else None
            if text is None:
                continue
            try:
                number = int(text)
            except ValueError:
                number = text
            items.append({self.key: ident, self.value: number})
        return items

    def comparable(self, value):
        return tuple(sorted(((item[self.key], item[self.value]) for item in value or []), key=repr))

    def merge(self, current, desired):
        if desired is None:
            return current
        result = {item[self.key]: dict(item) for item in current or []}
        for item in desired:
            old = result.get(item[self.key], {})
            result[item[self.key]] = {self.key: item[self.key],
                                      self.value: item[self.value] if item[self.value] is not None else old.get(self.value)}
        return list(result.values())

    def delete(self, current, given):
        gone = {item[self.key] for item in given}
        return [item for item in current or [] if item[self.key] not in gone]

    def is_empty_value(self, value):
        return not value

    def write(self, context, value):
        wanted = {item[self.key]: item[self.value] for item in value or [] if item[self.value] is not None}
        for ident, elem in self.devices(context).items():
            driver = elem.find("driver")
            if ident in wanted:
                if driver is None:
                    driver = insert_child(elem, etree.Element("driver"))
                driver.set(self.attr, str(wanted[ident]))
            elif driver is not None and self.attr in driver.attrib:
                del driver.attrib[self.attr]

    def to_options(self, value):
        return [dict(item) for item in sorted(value or [], key=lambda item: repr(item[self.key]))]


def _bare(elem):
    clone = etree.Element(elem.tag, dict(elem.attrib))
    return clone


def _disk_target(elem):
    target = elem.find("target")
    return target.get("dev") if target is not None else None


def _controller_index(elem):
    try:
        return int(elem.get("index", ""))
    except ValueError:
        return None


def _is_scsi_controller(elem):
    return elem.get("type") == "scsi"


# libvirt reads both as a C int (virXMLPropInt in virDomainDefParseIOThreadPoolAttrs)
INT_MAX = 2147483647
POOL = [Attr("thread_pool_min", "thread_pool_min", Int(0, INT_MAX)),
        Attr("thread_pool_max", "thread_pool_max", Int(1, INT_MAX))]


class IothreadIds(Items):
    """<iothreadids>, written only when it says more than <iothreads> alone would."""

    def write(self, context, value):
        plain = all(all(item.get(f.name) is None for f in self.fields if f.name != "id") for item in value or [])
        if plain and sorted(item["id"] for item in value or []) == list(range(1, len(value or []) + 1)):
            value = []  # ids 1..count with no settings: <iothreads>count</iothreads> says it all
        super().write(context, value)


# engine/limits.py: libvirt and QEMU set no maximum; the bound keeps every run small and linear
IOTHREAD_COUNT = Int(0, MAX_IOTHREADS, rule="must be between 0 and %d (this collection's limit on iothreads: each is "
                     "a host thread)" % MAX_IOTHREADS)

DISKS = DeviceAttribute("disks", "devices/disk", "target", _disk_target, "iothread", "iothread", "disk")
CONTROLLERS = DeviceAttribute("controllers", "devices/controller", "index", _controller_index, "iothread", "iothread",
                              "controller", select=_is_scsi_controller)

FIELDS = [
    Text("count", "iothreads", IOTHREAD_COUNT),
    IothreadIds("iothreadids", "iothreadids/iothread", [
        Attr("id", "id", Int(1, 4294967295, rule="must be between 1 and 4294967295 (libvirt's unsigned int)")),
        *POOL,
        # libvirt 9.4+ reads max as unsigned long long, grow and shrink as unsigned int
        Group("poll", "poll", [Attr("max", "max", Int(0, 2 ** 64 - 1, rule="must be between 0 and %d (an unsigned "
                                                      "long long)" % (2 ** 64 - 1))),
                               Attr("grow", "grow", Int(0, 2 ** 32 - 1, rule="must be between 0 and 4294967295 (an "
                                                        "unsigned int)")),
                               Attr("shrink", "shrink", Int(0, 2 ** 32 - 1, rule="must be between 0 and 4294967295 "
                                                            "(an unsigned int)"))]),
    ], key="id"),
    Group("defaultiothread", "defaultiothread", POOL),
    DISKS,
    CONTROLLERS,
]


def list_every_iothread(values, _root=None):
    """Every iothread id listed; count is their number (libvirt numbers the unlisted ones)."""
    ids = [dict(item) for item in values.get("iothreadids") or []]
    count = values.get("count") if isinstance(values.get("count"), int) else 0
    taken = {item["id"] for item in ids}
    candidate = 1
    while len(ids) < count:
        if candidate not in taken:
            ids.append({"id": candidate, "thread_pool_min": None, "thread_pool_max": None, "poll": None})
            taken.add(candidate)
        candidate += 1
    values["iothreadids"] = ids
    values["count"] = len(ids) or None
    return values


def diff_drivers(root):
    """For --diff: the <driver> of each device that names an iothread, after the area's elements."""
    parts = []
    for field in (DISKS, CONTROLLERS):
        for ident, device in sorted(field.devices(root).items(), key=lambda pair: repr(pair[0])):
            driver = device.find("driver")
            if driver is not None and driver.get("iothread") is not None:
                parts.append("<!-- %s %s -->\n%s\n" % (field.kind, ident, to_string(_bare(driver))))
    return "".join(parts)


def adjust_target(result, view):
    desired, state = view.desired, view.state
    given_ids = desired.get("iothreadids")
    count = desired.get("count")
    if state == "deleted":
        if count is not None:
            result["iothreadids"] = []
        result["count"] = len(result["iothreadids"] or []) or None
    elif count is not None:
        named = {item["id"] for item in given_ids or []}
        ids = [dict(item) for item in result["iothreadids"] or []]
        if count < len(named):
            raise TuningError("count: %d is not valid: iothreadids lists %d iothreads (%s); raise count or list fewer"
                              % (count, len(named), format_cpuset(named)))
        # a lower count removes the highest ids the task does not name
        for item in sorted(ids, key=lambda item: -item["id"]):
            if len(ids) <= count:
                break
            if item["id"] not in named:
                ids.remove(item)
        result["iothreadids"], result["count"] = ids, count
        result = list_every_iothread(result)
    else:
        result["count"] = len(result["iothreadids"] or []) or None
    return result


def validate(target, ctx):
    """Devices and pool sizes (every user of an iothread against the iothreads: engine/rules.py)."""
    for index, item in enumerate(target["iothreadids"] or []):
        _check_pool("iothreadids[%d]" % index, item)
        if item.get("poll") and any(v is not None for v in item["poll"].values()):
            _check_poll_support("iothreadids[%d].poll" % index, ctx)
    if target["defaultiothread"]:
        _check_pool("defaultiothread", target["defaultiothread"])
    disks = DISKS.devices(ctx.root)
    for index, item in enumerate(target["disks"] or []):
        where = "disks[%d]" % index
        disk = disks.get(item["target"])
        if disk is None:
            raise TuningError("%s.target: %r is not valid: the guest has no disk with that target (disks: %s)"
                              % (where, item["target"], ", ".join(sorted(disks)) or "none"))
        bus = disk.find("target").get("bus")
        if bus != "virtio":
            raise TuningError("%s.target: %r is not valid: its bus is %s; only virtio disks take an iothread "
                              "(a SCSI disk uses its virtio-scsi controller's: set controllers)"
                              % (where, item["target"], bus or "not set"))
        if item["iothread"] is None:
            raise TuningError("%s.iothread: required: the iothread id for disk %s" % (where, item["target"]))
    controllers = CONTROLLERS.devices(ctx.root)
    for index, item in enumerate(target["controllers"] or []):
        where = "controllers[%d]" % index
        controller = controllers.get(item["index"])
        if controller is None:
            raise TuningError("%s.index: %d is not valid: the guest has no SCSI controller with that index "
                              "(SCSI controllers: %s)" % (where, item["index"],
                                                          ", ".join(str(i) for i in sorted(controllers)) or "none"))
        if controller.get("model") not in VIRTIO_SCSI:
            raise TuningError("%s.index: %d is not valid: the controller's model is %s; only virtio-scsi controllers "
                              "take an iothread" % (where, item["index"], controller.get("model") or "not set"))
        if item["iothread"] is None:
            raise TuningError("%s.iothread: required: the iothread id for controller %d" % (where, item["index"]))
    return []


def _check_pool(where, item):
    """src/conf/domain_validate.c virDomainDefValidateIOThreadsThreadPool (an unset maximum is -1 there)."""
    low, high = item.get("thread_pool_min"), item.get("thread_pool_max")
    if low is not None and high is None:
        raise TuningError("%s.thread_pool_min: %d is not valid without thread_pool_max: libvirt compares it with the "
                          "unset maximum and refuses it (thread_pool_min must be smaller or equal to "
                          "thread_pool_max)" % (where, low))
    if low is not None and high is not None and low > high:
        raise TuningError("%s.thread_pool_min: %d is not valid: it is above thread_pool_max %d" % (where, low, high))


def _check_poll_support(where, ctx):
    version = ctx.host("lib_version")
    if version is not None and tuple(version) < POLL_SINCE:
        have, need = ".".join(str(v) for v in version), ".".join(str(v) for v in POLL_SINCE)
        raise TuningError("%s: not valid here: libvirt %s on this host does not keep <poll> in the definition "
                          "(needs libvirt %s or later)" % (where, have, need))


# --------------------------------------------------------------------------- live

POOL_PARAMS = {"thread_pool_min": "thread_pool_min", "thread_pool_max": "thread_pool_max"}
POLL_PARAMS = {"max": "poll_max_ns", "grow": "poll_grow", "shrink": "poll_shrink"}


def _params_of(item):
    params = {}
    for name, param in POOL_PARAMS.items():
        if item.get(name) is not None:
            params[param] = item[name]
    for name, param in POLL_PARAMS.items():
        if (item.get("poll") or {}).get(name) is not None:
            params[param] = item["poll"][name]
    return params


def live_iothreads(values, view):
    """Add, remove and set the parameters of iothreads (count and iothreadids plan the same calls)."""
    live_ids = {item["id"]: item for item in values.live["iothreadids"] or []}
    wanted = {item["id"]: item for item in values.target["iothreadids"] or []}
    ops = []
    for ident in sorted(set(live_ids) - set(wanted)):
        ops.append(LiveOp(live_ops.DEL_IOTHREAD, (ident,), "remove iothread %d" % ident))
    for ident in sorted(set(wanted) - set(live_ids)):
        ops.append(LiveOp(live_ops.ADD_IOTHREAD, (ident,), "add iothread %d" % ident))
    for ident in sorted(wanted):
        want, have = _params_of(wanted[ident]), _params_of(live_ids.get(ident, {}))
        dropped = sorted(set(have) - set(want))
        if dropped:
            raise NotLive("iothread %d: %s return to libvirt's defaults at the next boot" % (ident, ", ".join(dropped)))
        change = {k: v for k, v in want.items() if have.get(k) != v}
        if change:
            ops.append(LiveOp(live_ops.SET_IOTHREAD_PARAMS, (ident, change), "set iothread %d %s" % (
                ident, ", ".join("%s=%s" % (k, change[k]) for k in sorted(change)))))
    return ops


def live_device(what):
    def handler(values, view):
        raise NotLive("moving a %s to another iothread takes effect at the next boot" % what)
    return handler


def live_default(values, view):
    raise NotLive("the default iothread's pool changes at the next boot")


LIVE = {"count": live_iothreads, "iothreadids": live_iothreads, "defaultiothread": live_default,
        "disks": live_device("disk"), "controllers": live_device("controller")}

AREA = Area(
    "iothreads", FIELDS, diff_paths=["iothreads", "iothreadids", "defaultiothread"], validate=validate, live=LIVE,
    fill_in=list_every_iothread, adjust_target=adjust_target, diff_extra=diff_drivers,
    description="I/O threads: <iothreads>, <iothreadids>, <defaultiothread> and the iothread of disks and controllers")
