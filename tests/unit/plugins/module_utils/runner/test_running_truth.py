"""Running guests told truthfully (issue 9 items 3-7), against a stand-in edge whose guest runs."""

import os
import stat

import pytest

from conftest import fixture_text, run_module
from test_apply import BASE, FakeEdge

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import DomainContext, converge, plan_live
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import LibvirtCallError, TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner import apply

URI = {"uri": "test:///fake", "name": "vt-fake"}


class RunningEdge(FakeEdge):
    """A running guest: ``live`` is its live XML; ``refuse`` names live methods libvirt refuses;
    ``follows`` is False for a guest that accepts requests and does not carry them out."""

    live, refuse, follows, made, persistent_start, live_after = BASE, (), True, [], BASE, None

    def __init__(self, uri=None):
        super().__init__(uri)
        self.xml = self.persistent_start
        self.ran = []
        RunningEdge.made.append(self)

    def running_xml(self, dom):
        self._record("running_xml")
        return self.live

    def live_xml(self, dom):
        self._record("live_xml")
        return self.live

    def live_xml_migratable(self, dom):
        return self.live

    def run(self, dom, op):
        self._record("run")
        if op.method in self.refuse:
            raise LibvirtCallError("libvirt refused %s live: no" % op.method)
        self.ran.append(op.text)
        if self.follows:
            # the guest now runs the definition, as libvirt reports it
            RunningEdge.live = self.live_after or self.xml


@pytest.fixture
def running(monkeypatch):
    RunningEdge.made, RunningEdge.refuse, RunningEdge.follows, RunningEdge.live = [], (), True, BASE
    RunningEdge.persistent_start, RunningEdge.live_after = BASE, None
    monkeypatch.setattr(apply, "LibvirtEdge", RunningEdge)
    return RunningEdge


def cputune_xml(body):
    return BASE.replace("<iothreads>2</iothreads>", "<iothreads>2</iothreads><cputune>%s</cputune>" % body)


def live_plan(persistent, live, area, host_cpus=frozenset({0, 1}), **options):
    params = {f.name: None for f in area.fields}
    params.update(options)
    state = options.pop("state", "merged") if "state" in options else "merged"
    params.pop("state", None)
    results = converge(parse_domain(persistent), [(area, params, state)], DomainContext(host_cpus=host_cpus))
    return plan_live(results, parse_domain(live), DomainContext(host_cpus=host_cpus))


def test_a_pin_to_every_host_cpu_and_a_quota_of_minus_one_are_no_pin_and_no_quota():
    pinned = cputune_xml("<quota>50000</quota><vcpupin vcpu='1' cpuset='1'/><emulatorpin cpuset='1'/>"
                         "<iothreadpin iothread='1' cpuset='1'/>")
    # what libvirt reports for the running guest once the pins and the quota were deleted live
    reported = cputune_xml("<quota>-1</quota><vcpupin vcpu='1' cpuset='0-1'/><emulatorpin cpuset='0-1'/>"
                           "<iothreadpin iothread='1' cpuset='0-1'/>")
    plan = live_plan(pinned, reported, AREAS["cputune"], state="deleted")
    assert (plan.ops, plan.pending) == ([], [])
    # the same values in the definition are still a request of their own
    plan = live_plan(reported.replace("<quota>-1</quota>", ""), BASE, AREAS["cputune"],
                     vcpupin=[{"vcpu": 1, "cpuset": "0-1"}], emulatorpin="0-1", iothreadpin=[{"iothread": 1, "cpuset": "0-1"}])
    assert [op.text for _key, op in plan.ops] == [
        "pin vCPU 1 to 0-1", "pin the emulator to 0-1", "pin iothread 1 to 0-1"]


def test_deleting_pins_on_a_running_guest_converges(running):
    pinned = cputune_xml("<quota>50000</quota><vcpupin vcpu='1' cpuset='1'/><emulatorpin cpuset='1'/>")
    running.live = running.persistent_start = pinned
    running.live_after = cputune_xml("<quota>-1</quota><vcpupin vcpu='1' cpuset='0-3'/><emulatorpin cpuset='0-3'/>")
    first = run_module("cputune", dict(URI, state="deleted"))
    assert (first["changed"], first["live_changes"], first["restart_required"]) == (
        True, ["set vcpu_quota to -1", "pin vCPU 1 to all host CPUs", "pin the emulator to all host CPUs"], False)
    assert "live_pending" not in first
    running.persistent_start = running.made[-1].xml
    again = run_module("cputune", dict(URI, state="deleted"))
    assert (again["changed"], again["live_changes"], again["restart_required"]) == (False, [], False)


def test_current_on_a_guest_with_a_vcpus_list_goes_live(running):
    listed = BASE.replace("<vcpu placement='static' current='2'>4</vcpu>",
                          "<vcpu placement='static' current='2'>4</vcpu><vcpus><vcpu id='0' enabled='yes' "
                          "hotpluggable='no'/><vcpu id='1' enabled='yes' hotpluggable='no'/><vcpu id='2' "
                          "enabled='no' hotpluggable='yes'/><vcpu id='3' enabled='no' hotpluggable='yes'/></vcpus>")
    plan = live_plan(listed, listed, AREAS["vcpus"], current=4)
    assert [(key, op.text) for key, op in plan.ops] == [("vcpus.current", "enable vCPUs 2"), ("vcpus.current", "enable vCPUs 3")]
    cells = listed.replace("</cpu>", "<numa><cell id='0' cpus='0-1' memory='64' unit='MiB'/>"
                                     "<cell id='1' cpus='2-3' memory='64' unit='MiB'/></numa></cpu>")
    plan = live_plan(cells, cells, AREAS["vcpus"], enable_cells=[0, 1])
    assert [(key, op.text) for key, op in plan.ops] == [("vcpus.current", "enable vCPUs 2"), ("vcpus.current", "enable vCPUs 3")]


def test_what_qemu_cannot_unplug_waits_for_the_boot_before_trying():
    four = BASE.replace("<vcpu placement='static' current='2'>4</vcpu>", "<vcpu placement='static'>4</vcpu>")
    live = four.replace("<vcpu placement='static'>4</vcpu>", "<vcpu placement='static'>4</vcpu><vcpus>%s</vcpus>" % "".join(
        "<vcpu id='%d' enabled='yes' hotpluggable='%s'/>" % (i, "no" if i < 2 else "yes") for i in range(4)))
    plan = live_plan(four, live, AREAS["vcpus"], current=1)
    assert (plan.ops, plan.pending, plan.reasons) == ([], ["vcpus.current"], {
        "vcpus.current": "vCPUs 1 were plugged at boot and cannot be unplugged from the running guest"})
    plan = live_plan(four, live, AREAS["vcpus"], current=2)
    assert (plan.ops, plan.pending, plan.reasons) == ([], ["vcpus.current"], {
        "vcpus.current": "QEMU cannot unplug vCPUs 2-3 of CPU model kvm64 from the running guest"})
    other = live.replace(">kvm64<", ">qemu64<")
    plan = live_plan(four.replace(">kvm64<", ">qemu64<"), other, AREAS["vcpus"], current=2)
    assert [op.text for _key, op in plan.ops] == ["set the number of vCPUs to 2"]


def test_a_live_call_refused_after_the_define_fails_with_changed_and_what_waits(running):
    running.refuse = ("pin_emulator",)
    result = run_module("cputune", dict(URI, shares=300, emulatorpin="0"))
    assert {key: result[key] for key in ("failed", "changed", "live_changes", "restart_required",
                                         "pending_restart", "pending_reasons", "msg")} == {
        "failed": True, "changed": True, "live_changes": ["set cpu_shares to 300"], "restart_required": True,
        "pending_restart": ["cputune.emulatorpin"],
        "pending_reasons": {"cputune.emulatorpin": "pin the emulator to 0: libvirt refused pin_emulator live: no"},
        "msg": "libvirt refused pin_emulator live: no. The persistent definition is updated; live so far: set "
               "cpu_shares to 300; the rest applies at the next start"}
    assert result["after"] == {"shares": 300, "emulatorpin": "0"}
    assert len(running.made[0].defined) == 1


def test_a_refused_define_changes_nothing(running, monkeypatch):
    def refuse(self, xml):
        raise LibvirtCallError("libvirt refused the new definition: hard_limit must be lower than swap_hard_limit")
    monkeypatch.setattr(RunningEdge, "define", refuse)
    result = run_module("cputune", dict(URI, shares=300))
    assert result == {"failed": True, "changed": False, "msg": "libvirt refused the new definition: hard_limit must "
                                                               "be lower than swap_hard_limit; nothing was changed"}
    assert running.made[0].ran == []


DIMM_BASE = BASE.replace("<memory unit='MiB'>128</memory>",
                         "<maxMemory slots='4' unit='MiB'>1024</maxMemory><memory unit='MiB'>192</memory>").replace(
    "</cpu>", "<numa><cell id='0' cpus='0-3' memory='128' unit='MiB'/></numa></cpu>").replace(
    "</devices>", "<memory model='dimm'><target><size unit='MiB'>64</size><node>0</node></target>"
                  "<address type='dimm' slot='0'/></memory></devices>")


def test_a_dimm_the_guest_keeps_is_live_pending_and_not_asked_again(running):
    running.live = running.persistent_start = DIMM_BASE
    running.follows = False
    first = run_module("memory_devices", dict(URI, dimms=[]), diff=False)
    assert (first["changed"], first["live_changes"], first["live_pending"], first["pending_reasons"]) == (
        True, ["detach the 64 MiB DIMM of node 0 (slot 0)"], ["memory_devices.dimms"],
        {"memory_devices.dimms": "the guest has not completed: detach the 64 MiB DIMM of node 0 (slot 0)"})
    running.persistent_start = running.made[-1].xml  # the next run starts from what the first defined
    again = run_module("memory_devices", dict(URI, dimms=[]), diff=False)
    assert (again["changed"], again["live_changes"], again["live_pending"], again["pending_reasons"]) == (
        False, [], ["memory_devices.dimms"],
        {"memory_devices.dimms": "the guest has not released the 64 MiB DIMM of node 0 (slot 0)"})


def test_one_vcpu_a_set_vcpu_call():
    four = BASE.replace("<vcpu placement='static' current='2'>4</vcpu>", "<vcpu placement='static' current='1'>4</vcpu>")
    live = four.replace("</vcpu>", "</vcpu><vcpus>%s</vcpus>" % "".join(
        "<vcpu id='%d' enabled='%s' hotpluggable='%s'/>" % (i, "yes" if i == 0 else "no", "no" if i == 0 else "yes")
        for i in range(4)))
    plan = live_plan(live, live, AREAS["vcpus"], vcpus=[{"id": 2, "enabled": True}, {"id": 3, "enabled": True}])
    assert [(op.method, op.args) for _key, op in plan.ops] == [("set_vcpu", ("2", True)), ("set_vcpu", ("3", True))]


def test_a_new_dimm_qemu_cannot_hot_plug_is_refused_before_anything_is_written():
    with pytest.raises(TuningError) as caught:
        live_plan(DIMM_BASE, DIMM_BASE, AREAS["memory_devices"],
                  dimms=[{"size": "64M", "node": 0, "slot": 0}, {"size": "100K", "node": 0}])
    assert str(caught.value) == (
        "dimms[1].size: '100 KiB' is not valid: QEMU needs DIMM sizes in multiples of 2 MiB on this architecture "
        "(libvirt rounds them up at boot and QEMU refuses them at hot-plug)")


def test_a_defined_dimm_qemu_cannot_hot_plug_waits_for_the_boot():
    # a 100 KiB DIMM already in the definition (libvirt rounds it up at boot) is kept, and waits for the boot
    odd = DIMM_BASE.replace("<memory unit='MiB'>192</memory>", "<memory unit='KiB'>196708</memory>").replace(
        "</devices>", "<memory model='dimm'><target><size unit='KiB'>100</size><node>0</node></target>"
                      "<address type='dimm' slot='1'/></memory></devices>")
    plan = live_plan(odd, DIMM_BASE, AREAS["memory_devices"],
                     dimms=[{"size": "64M", "node": 0, "slot": 0}, {"size": "100K", "node": 0, "slot": 1}])
    assert (plan.ops, plan.pending, plan.reasons) == ([], ["memory_devices.dimms"], {
        "memory_devices.dimms": "QEMU hot-plugs only DIMMs whose size is a multiple of 2 MiB, not 100 KiB"})


def test_a_dimm_libvirt_gives_a_slot_is_held_as_asked():
    area = AREAS["memory_devices"]
    params = dict({f.name: None for f in area.fields}, dimms=[{"size": "64M", "node": 0}])
    without = DIMM_BASE.replace("<memory unit='MiB'>192</memory>", "<memory unit='MiB'>128</memory>").replace(
        "<memory model='dimm'><target><size unit='MiB'>64</size><node>0</node></target>"
        "<address type='dimm' slot='0'/></memory>", "")
    results = converge(parse_domain(without), [(area, params, "merged")])
    assert results[0].changed is True
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import not_held
    assert not_held(results, DIMM_BASE) == []


def test_dest_writes_the_whole_xml_with_its_secrets_and_mode_0600(tmp_path):
    xml = fixture_text("guest-minimal.xml")
    dest = str(tmp_path / "guest.xml")
    check = run_module("cputune", {"xml": xml, "shares": 300, "dest": dest}, check=True)
    assert check["changed"] is True and not os.path.exists(dest)
    result = run_module("cputune", {"xml": xml, "shares": 300, "dest": dest})
    assert result["dest"] == dest
    with open(dest) as handle:
        written = handle.read()
    assert 'passwd="s3cret"' in written and "s3cret" not in result["xml"]
    assert written.replace("s3cret", "********") == result["xml"]
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    again = run_module("cputune", {"xml": written, "shares": 300, "dest": dest})
    assert again["changed"] is False
    os.chmod(dest, 0o644)
    with open(dest, "w") as handle:
        handle.write("old")
    run_module("cputune", {"xml": xml, "shares": 300, "dest": dest})
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600


def test_dest_needs_xml():
    result = run_module("cputune", {"name": "g", "dest": "/tmp/x.xml"})
    assert result == {"failed": True, "msg": "missing parameter(s) required by 'dest': xml"}


def test_a_host_action_refused_after_the_define_fails_with_changed(running, monkeypatch):
    def refuse(self, dom, action):
        raise LibvirtCallError("reset_nvram: cannot remove /x_VARS.fd: Permission denied")
    monkeypatch.setattr(RunningEdge, "run_host_action", refuse, raising=False)
    running.persistent_start = BASE.replace("<os>", "<os firmware='efi'><firmware><feature enabled='no' "
                                                    "name='secure-boot'/></firmware>")
    result = run_module("boot_firmware", dict(URI, firmware_features={"secure_boot": True}, reset_nvram=True))
    assert (result["failed"], result["changed"], result["live_changes"], result["msg"]) == (
        True, True, [], "reset_nvram: cannot remove /x_VARS.fd: Permission denied. The persistent definition is "
                        "updated; nothing was applied live")
    assert "host_changes" not in result and len(running.made[0].defined) == 1


# --------------------------------------------------------------------------- found by the state machine (issue 9)

def test_deleting_every_iothread_of_a_running_guest_removes_them_live():
    with_iothreads = BASE.replace("</vcpu>", "</vcpu><iothreads>2</iothreads>", 1)
    plan = live_plan(with_iothreads, with_iothreads, AREAS["iothreads"], state="deleted")
    assert [(op.method, op.args) for _key, op in plan.ops] == [("del_iothread", (1,)), ("del_iothread", (2,))]


def test_two_equal_new_dimms_are_both_attached():
    without = DIMM_BASE.replace("<memory unit='MiB'>192</memory>", "<memory unit='MiB'>128</memory>").replace(
        "<memory model='dimm'><target><size unit='MiB'>64</size><node>0</node></target>"
        "<address type='dimm' slot='0'/></memory>", "")
    plan = live_plan(without, without, AREAS["memory_devices"],
                     dimms=[{"size": "256M", "node": 0}, {"size": "256M", "node": 0}])
    assert [op.text for _key, op in plan.ops] == ["attach a 256 MiB DIMM to node 0"] * 2


def test_deleting_current_on_a_guest_with_a_vcpus_list_puts_every_vcpu_online():
    listed = BASE.replace("<vcpu placement='static' current='2'>4</vcpu>",
                          "<vcpu placement='static' current='2'>4</vcpu><vcpus><vcpu id='0' enabled='yes' "
                          "hotpluggable='no'/><vcpu id='1' enabled='yes' hotpluggable='yes'/><vcpu id='2' "
                          "enabled='no' hotpluggable='yes'/><vcpu id='3' enabled='no' hotpluggable='yes'/></vcpus>")
    assert listed != BASE
    result = run_module("vcpus", {"xml": listed, "state": "deleted", "current": 2})
    assert (result["changed"], result["after"]) == (True, {"maximum": 4, "placement": "static", "vcpus": [
        {"id": 0, "enabled": True, "hotpluggable": False}, {"id": 1, "enabled": True, "hotpluggable": True},
        {"id": 2, "enabled": True, "hotpluggable": True}, {"id": 3, "enabled": True, "hotpluggable": True}]})
