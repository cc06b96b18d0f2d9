"""engine/rules.py: the rules between areas run once on the final document, for one area or several."""

from conftest import fixture_text, run_module

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine import rules
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import (
    AreaView, LiveValues, converge, plan_live,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import Request, SetOf, Int

BASE = fixture_text("guest-minimal.xml")
NUMA = BASE.replace("</cpu>", "<numa><cell id='0' cpus='0-1' memory='64' unit='MiB'/>"
                              "<cell id='1' cpus='2-3' memory='64' unit='MiB'/></numa></cpu>")


def test_a_rule_speaks_to_the_first_area_the_task_asks_for():
    both = run_module("domain_tuning", {"xml": NUMA, "numa": {"cells": [
        {"id": 0, "cpus": "0-1", "memory": "64M"}, {"id": 1, "cpus": "2-3", "memory": "128M"}]},
        "memory_devices": {"current_memory": "64M"}})
    assert both == {"failed": True, "msg": "cells: the cells' memory adds up to 192 MiB, but the guest's memory is "
                                           "128 MiB; make them equal (to change both at once, set numa.cells and "
                                           "memory_devices.memory in one virtuned.libvirt.domain_tuning task)"}
    pins = run_module("domain_tuning", {"xml": BASE, "vcpus": {"maximum": 2},
                                        "cputune": {"vcpupin": [{"vcpu": 3, "cpuset": "1"}]}})
    assert pins == {"failed": True, "msg": "maximum: 2 leaves cputune.vcpupin pinning vCPU 3, which the guest would "
                                           "not have (vCPUs 0-1); change cputune first"}


def test_iothreads_removed_under_a_pin_of_the_same_task():
    result = run_module("domain_tuning", {"xml": BASE, "iothreads": {"count": 1},
                                          "cputune": {"iothreadpin": [{"iothread": 2, "cpuset": "0"}]}})
    assert result == {"failed": True, "msg": "iothreads: removing iothread 2 is refused: cputune.iothreadpin uses it; "
                                             "change cputune first"}
    alone = run_module("cputune", {"xml": BASE, "iothreadpin": [{"iothread": 3, "cpuset": "0"}]})
    assert alone == {"failed": True, "msg": "iothreadpin[iothread=3].iothread: 3 is not valid: the guest defines "
                                            "iothreads 1-2"}


def test_the_rules_run_once_per_converge(monkeypatch):
    calls = []
    real = rules.check
    monkeypatch.setattr(rules, "check", lambda *args: calls.append(args[2]) or real(*args))
    requests = []
    for name, options in (("vcpus", {"maximum": 4}), ("cputune", {"emulatorpin": "0"}), ("memtune", {})):
        area = AREAS[name]
        params = {f.name: None for f in area.fields}
        params.update(options)
        requests.append((area, params, "merged"))
    converge(parse_domain(BASE), requests)
    assert calls == [["vcpus", "cputune", "memtune"]]


def test_vcpusched_and_cells_name_vcpus_the_guest_has():
    sched = run_module("cputune", {"xml": BASE, "vcpusched": [{"vcpus": "2-5", "scheduler": "batch"}]})
    assert sched["msg"] == "vcpusched[vcpus=4-5].vcpus: '4-5' names vcpus 4-5, but the guest has 4 vCPUs (0-3)"
    doubled = run_module("numa", {"xml": NUMA, "cells": [{"id": 0, "cpus": "0-2", "memory": "64M"},
                                                         {"id": 1, "cpus": "2-3", "memory": "64M"}]})
    assert doubled["msg"] == "cells: vCPUs 2 are in more than one cell: libvirt refuses NUMA cells with overlapping vCPU ids"
    # libvirt moves a vCPU in no cell into cell 0 on define (qemuDomainDefNumaCPUsRectify): refused
    cells = run_module("numa", {"xml": NUMA, "cells": [{"id": 0, "cpus": "0-1", "memory": "64M"},
                                                       {"id": 1, "cpus": "2", "memory": "64M"}]})
    assert cells["msg"] == ("cells: vCPUs 3 are in no cell: libvirt adds them to cell 0 when it defines the guest "
                            "(qemuDomainDefNumaCPUsRectify); give every vCPU of the guest (0-3) a cell")


def test_enable_cells_reads_cells_in_any_unit():
    xml = BASE.replace("</cpu>", "<numa><cell id='0' cpus='0-1' memory='65536'/>"
                                 "<cell id='1' cpus='2-3' memory='64' unit='MiB'/></numa></cpu>")
    result = run_module("vcpus", {"xml": xml, "enable_cells": [0, 1]})
    assert result["after"] == {"maximum": 4, "placement": "static",
                               "vcpus": [{"id": i, "enabled": True, "hotpluggable": i > 1} for i in range(4)]}


def test_request_takes_a_set_of_values():
    field = Request("enable_cells", SetOf(Int(0)))
    assert field.argspec() == {"type": "list", "elements": "int"}
    assert field.normalise([2, "0", 2], "enable_cells") == [0, 2]


def test_groups_leave_empty_lists_out_as_areas_do():
    area = AREAS["cputune"]
    xml = BASE.replace("<iothreads>", "<cputune><cachetune vcpus='0'><cache id='0' level='3' type='both' "
                                      "size='2' unit='MiB'/></cachetune></cputune>\n  <iothreads>")
    assert area.to_options(area.read(parse_domain(xml))) == {"cachetune": [
        {"vcpus": "0", "caches": [{"id": 0, "level": 3, "type": "both", "size": "2 MiB"}]}]}


EFI_PERSISTENT = BASE.replace("<os>", "<os firmware='efi'>")
EFI_LIVE = BASE.replace("</type>", "</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"
                                   "<nvram>/var/lib/libvirt/qemu/nvram/vt_VARS.fd</nvram>")


def test_live_view_takes_the_efi_expansion_for_the_same_request():
    area = AREAS["boot_firmware"]
    root = parse_domain(EFI_PERSISTENT)
    view = AreaView(root, area.read(root), area=area, live_root=parse_domain(EFI_LIVE), target=area.read(root))
    assert area.differing(area.read(root), area.live_values(view.live_root, view)) == []
    params = {f.name: None for f in area.fields}
    results = converge(root, [(area, params, "replaced")])
    plan = plan_live(results, parse_domain(EFI_LIVE))
    assert (plan.ops, plan.pending) == ([], ["boot_firmware.loader", "boot_firmware.nvram"])
    root = parse_domain(EFI_PERSISTENT)
    results = converge(root, [(area, dict(params, boot_order=["hd"]), "merged")])
    plan = plan_live(results, parse_domain(EFI_LIVE))
    assert (plan.ops, plan.pending, plan.restart_required) == ([], [], False)


def test_live_handlers_see_whole_areas():
    from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.memtune import live_hard_or_swap_limit
    target = {"hard_limit": 2 * 1024 ** 3, "soft_limit": None, "swap_hard_limit": 3 * 1024 ** 3, "min_guarantee": None}
    ops = live_hard_or_swap_limit(LiveValues({}, target, {}), AreaView(None))
    assert [(op.method, op.args) for op in ops] == [
        ("set_memory_parameters", ({"hard_limit": 2097152, "swap_hard_limit": 3145728},))]
