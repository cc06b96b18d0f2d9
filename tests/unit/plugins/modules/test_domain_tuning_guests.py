"""domain_tuning guests: many guests in one call over one connection, each as a single call converges it."""

import pytest

from conftest import fixture_text, run_module

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge import connection
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import LibvirtCallError
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner import batch
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner import restart as restart_module

URI = "test:///default"
EMULATORPIN_DIFF = {"before": "", "after": "<cputune>\n  <emulatorpin cpuset=\"0\"/>\n</cputune>\n"}


@pytest.fixture
def guests(testdriver):
    conn, created = testdriver
    for name in ("vt-ut-g1", "vt-ut-g2", "vt-ut-g3"):
        conn.defineXML(fixture_text("guest-testdriver.xml").replace("NAME", name))
        created.append(name)
    return conn


def emulatorpin(conn, name):
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
    root = parse_domain(conn.lookupByName(name).XMLDesc(2))
    pin = root.find("cputune/emulatorpin")
    return None if pin is None else pin.get("cpuset")


def single_result(changed=True, before=None, after=None):
    return {"changed": changed, "live_changes": [], "restart_required": False, "restarted": False,
            "before": before if before is not None else {"cputune": {}},
            "after": after if after is not None else {"cputune": {"emulatorpin": "0"}}}


def test_a_failing_guest_does_not_stop_the_others_and_fails_the_task_naming_it(guests):
    result = run_module("domain_tuning", {"uri": URI, "guests": [
        {"name": "vt-ut-g1", "cputune": {"emulatorpin": "0"}},
        {"name": "vt-ut-g2", "cputune": {"vcpupin": [{"vcpu": 9, "cpuset": "0"}]}},
        {"name": "vt-ut-absent", "cputune": {"emulatorpin": "0"}},
        {"name": "vt-ut-g3", "cputune": {"emulatorpin": "0"}},
    ]}, diff=False)
    bad_pin = ("vcpupin[vcpu=9].vcpu: 9 is not valid: the guest has 4 vCPUs (0-3); raise vcpus.maximum or drop "
               "this pin")
    absent = "name: no domain 'vt-ut-absent' on test:///default: Domain not found"
    assert result == {
        "changed": True,
        "failed": True,
        "msg": "2 of 4 guests failed: vt-ut-g2: %s; vt-ut-absent: %s" % (bad_pin, absent),
        "guests": {
            "vt-ut-g1": single_result(),
            "vt-ut-g2": {"changed": False, "restarted": False, "failed": True, "msg": bad_pin},
            "vt-ut-absent": {"changed": False, "restarted": False, "failed": True, "msg": absent},
            "vt-ut-g3": single_result(),
        },
    }
    assert [emulatorpin(guests, name) for name in ("vt-ut-g1", "vt-ut-g2", "vt-ut-g3")] == ["0", None, "0"]


def test_each_guest_result_is_the_single_call_result(guests):
    batch_run = run_module("domain_tuning", {"uri": URI, "guests": [
        {"name": "vt-ut-g1", "cputune": {"emulatorpin": "0"}, "memtune": {"soft_limit": "64M"}}]})
    single = run_module("domain_tuning", {"uri": URI, "name": "vt-ut-g2", "cputune": {"emulatorpin": "0"},
                                          "memtune": {"soft_limit": "64M"}})
    assert batch_run["guests"]["vt-ut-g1"] == single
    again = run_module("domain_tuning", {"uri": URI, "guests": [
        {"name": "vt-ut-g1", "cputune": {"emulatorpin": "0"}, "memtune": {"soft_limit": "64M"}}]}, diff=False)
    assert again == {"changed": False, "guests": {"vt-ut-g1": single_result(
        False, {"cputune": {"emulatorpin": "0"}, "memtune": {"soft_limit": "64 MiB"}},
        {"cputune": {"emulatorpin": "0"}, "memtune": {"soft_limit": "64 MiB"}})}}


def test_check_mode_per_guest_changes_nothing(guests):
    args = {"uri": URI, "guests": [{"name": "vt-ut-g1", "cputune": {"emulatorpin": "0"}},
                                   {"name": "vt-ut-g2", "state": "gathered", "cputune": {}}]}
    result = run_module("domain_tuning", args, check=True, diff=False)
    assert result == {"changed": True, "guests": {
        "vt-ut-g1": single_result(),
        "vt-ut-g2": {"changed": False, "live_changes": [], "restart_required": False, "restarted": False,
                     "gathered": {"cputune": {}}}}}
    assert emulatorpin(guests, "vt-ut-g1") is None


def test_diff_per_guest_names_the_guest(guests):
    result = run_module("domain_tuning", {"uri": URI, "guests": [
        {"name": "vt-ut-g1", "cputune": {"emulatorpin": "0"}},
        {"name": "vt-ut-g2", "cputune": {"emulatorpin": "0"}}]}, check=True, diff=True)
    assert result["diff"] == [
        dict(EMULATORPIN_DIFF, before_header="vt-ut-g1: cputune (persistent)", after_header="vt-ut-g1: cputune (persistent)"),
        dict(EMULATORPIN_DIFF, before_header="vt-ut-g2: cputune (persistent)", after_header="vt-ut-g2: cputune (persistent)"),
    ]
    assert result["guests"]["vt-ut-g1"]["diff"] == dict(EMULATORPIN_DIFF, before_header="cputune (persistent)",
                                                        after_header="cputune (persistent)")


def test_one_connection_and_host_facts_read_once(guests, monkeypatch):
    opened, facts = [], []
    real_init, real_facts = connection.LibvirtEdge.__init__, connection.LibvirtEdge.cpus_and_hypervisor

    def counting_init(self, *args, **kwargs):
        opened.append(args)
        real_init(self, *args, **kwargs)

    def counting_facts(self):
        facts.append(1)
        return real_facts(self)
    monkeypatch.setattr(connection.LibvirtEdge, "__init__", counting_init)
    monkeypatch.setattr(connection.LibvirtEdge, "cpus_and_hypervisor", counting_facts)
    result = run_module("domain_tuning", {"uri": URI, "guests": [
        {"name": name, "cputune": {"emulatorpin": "0"}} for name in ("vt-ut-g1", "vt-ut-g2", "vt-ut-g3")]})
    assert result["changed"] is True
    assert (len(opened), len(facts)) == (1, 1)


def test_a_guest_by_uuid_is_keyed_by_its_name(guests):
    uuid = guests.lookupByName("vt-ut-g1").UUIDString()
    result = run_module("domain_tuning", {"uri": URI, "guests": [{"uuid": uuid, "cputune": {"emulatorpin": "0"}}]},
                        diff=False)
    assert result == {"changed": True, "guests": {"vt-ut-g1": single_result()}}


def test_a_guest_given_twice_by_name_and_uuid_fails_before_anything_is_written(guests):
    uuid = guests.lookupByName("vt-ut-g2").UUIDString()
    result = run_module("domain_tuning", {"uri": URI, "guests": [
        {"name": "vt-ut-g1", "cputune": {"emulatorpin": "0"}}, {"name": "vt-ut-g2", "cputune": {"emulatorpin": "0"}},
        {"uuid": uuid, "cputune": {"emulatorpin": "0"}}]}, diff=False)
    assert result == {"failed": True, "msg": "guests[2] (%s): the guest vt-ut-g2 is also guests[1]: each guest is "
                                             "given once; nothing was changed" % uuid}
    assert emulatorpin(guests, "vt-ut-g1") is None


@pytest.mark.parametrize("args, message", [
    ({"guests": [{"name": "a", "cputune": {}}], "cputune": {"emulatorpin": "0"}},
     "cputune: not valid with guests: give the area options of each guest in its entry"),
    ({"guests": [{"name": "a", "cputune": {}}, {"name": "a", "memtune": {}}]},
     "guests[1] (a): a is also guests[0]: each guest is given once"),
    ({"guests": [{"name": "a"}]},
     "guests[0] (a): no area given: name at least one of " + ", ".join(AREAS)),
    ({"guests": [{"name": "a", "restart": "sometimes", "cputune": {}}]},
     "guests[0].restart: 'sometimes' is not valid: expected never or if_needed (older spellings: true is "
     "if_needed, false is never, force is if_needed with force_off)"),
    ({"guests": [{"name": "a", "cputune": {"vcpupin": [{"vcpu": "zero", "cpuset": 1}]}}]},
     "guests[0] (a): cputune: argument 'vcpu' is of type str found in 'vcpupin'. and we were unable to convert to "
     "int: \"'zero'\" cannot be converted to an int"),
    ({"guests": [{"name": "a", "cputune": {}}], "name": "b"},
     "parameters are mutually exclusive: name|uuid|xml|guests"),
    ({"guests": [{"name": "a", "uuid": "b", "cputune": {}}]},
     "parameters are mutually exclusive: name|uuid found in guests"),
    ({"guests": [{"name": "a", "cputune": {}}], "restart_timeout": -1},
     "restart_timeout: -1 is not valid: seconds are 0 or more"),
])
def test_bad_guests_fail_before_anything_is_read(args, message, monkeypatch):
    def no_connection(*_args, **_kwargs):
        raise AssertionError("no connection may be opened")
    monkeypatch.setattr(batch, "LibvirtEdge", no_connection)
    assert run_module("domain_tuning", dict(args, uri=URI)) == {"failed": True, "msg": message}


def running_guest(conn, name="vt-ut-g1"):
    dom = conn.lookupByName(name)
    dom.create()
    return dom


@pytest.mark.parametrize("restart", ["force", True])
def test_restart_puts_what_waits_for_the_boot_in_force(guests, restart):
    running_guest(guests)
    result = run_module("domain_tuning", {"uri": URI, "guests": [
        {"name": "vt-ut-g1", "restart": restart, "vcpus": {"maximum": 6}},
        {"name": "vt-ut-g2", "restart": restart, "vcpus": {"maximum": 6}}]}, diff=False)
    vcpus = {"before": {"vcpus": {"maximum": 4, "placement": "static"}},
             "after": {"vcpus": {"maximum": 6, "placement": "static"}}}
    assert result == {"changed": True, "guests": {
        "vt-ut-g1": dict(vcpus, changed=True, live_changes=[], restart_required=False, restarted=True,
                         in_force=["vcpus.maximum"]),
        "vt-ut-g2": dict(vcpus, changed=True, live_changes=[], restart_required=False, restarted=False)}}
    assert guests.lookupByName("vt-ut-g1").isActive() == 1
    assert guests.lookupByName("vt-ut-g2").isActive() == 0


def test_restart_in_check_mode_says_it_would_and_restarts_nothing(guests):
    dom = running_guest(guests)
    before = dom.ID()
    result = run_module("domain_tuning", {"uri": URI, "guests": [
        {"name": "vt-ut-g1", "restart": "force", "vcpus": {"maximum": 6}}]}, check=True, diff=False)
    entry = result["guests"]["vt-ut-g1"]
    assert (entry["restarted"], entry["restart_required"], entry["pending_restart"]) == (
        True, True, ["vcpus.maximum"])
    assert "in_force" not in entry
    assert guests.lookupByName("vt-ut-g1").ID() == before


def test_a_guest_that_does_not_shut_down_is_left_running_and_fails(guests, monkeypatch):
    dom = running_guest(guests)
    monkeypatch.setattr(connection.LibvirtEdge, "shutdown", lambda self, dom, timeout, poll=0.5: False)
    result = run_module("domain_tuning", {"uri": URI, "restart_timeout": 3, "guests": [
        {"name": "vt-ut-g1", "restart": True, "vcpus": {"maximum": 6}}]}, diff=False)
    message = ("restart: vt-ut-g1 did not shut down within 3 s of an ACPI shutdown request (a guest needs an OS "
               "that handles it); it runs on with the settings of its last boot; the persistent definition is "
               "updated; vcpus.maximum waits for its next boot; force_off: true powers it off after shutdown_timeout")
    assert result["msg"] == "1 of 1 guests failed: vt-ut-g1: " + message
    entry = result["guests"]["vt-ut-g1"]
    assert (entry["failed"], entry["msg"], entry["restarted"], entry["pending_restart"]) == (
        True, message, False, ["vcpus.maximum"])
    assert dom.isActive() == 1


def test_a_refused_start_fails_that_guest_only(guests, monkeypatch):
    running_guest(guests)
    running_guest(guests, "vt-ut-g2")

    def refuse(self, dom):
        if dom.name() == "vt-ut-g1":
            raise LibvirtCallError("libvirt refused starting vt-ut-g1: no")
        dom.create()
    monkeypatch.setattr(connection.LibvirtEdge, "start", refuse)
    result = run_module("domain_tuning", {"uri": URI, "guests": [
        {"name": name, "restart": "force", "vcpus": {"maximum": 6}} for name in ("vt-ut-g1", "vt-ut-g2")]}, diff=False)
    assert result["msg"] == ("1 of 2 guests failed: vt-ut-g1: restart: vt-ut-g1 was shut down and did not start "
                             "again: libvirt refused starting vt-ut-g1: no. It is shut off now; the persistent "
                             "definition is updated; vcpus.maximum waits for its next start")
    first, second = result["guests"]["vt-ut-g1"], result["guests"]["vt-ut-g2"]
    assert (first["restarted"], first["pending_restart"], first["changed"]) == (False, ["vcpus.maximum"], True)
    assert (second["restarted"], second["in_force"], second["restart_required"]) == (True, ["vcpus.maximum"], False)
    assert (guests.lookupByName("vt-ut-g1").isActive(), guests.lookupByName("vt-ut-g2").isActive()) == (0, 1)


def test_an_option_still_not_in_force_after_the_restart_fails_the_guest(guests, monkeypatch):
    running_guest(guests)
    real = restart_module.plan_live

    def still_waiting(results, live_root, ctx=None, live_migratable=None):
        plan = real(results, live_root, ctx, live_migratable)
        plan.pending.append("vcpus.maximum")
        return plan
    monkeypatch.setattr(restart_module, "plan_live", still_waiting)
    result = run_module("domain_tuning", {"uri": URI, "guests": [
        {"name": "vt-ut-g1", "restart": "force", "vcpus": {"maximum": 6}}]}, diff=False)
    message = "restart: vt-ut-g1 was restarted, but these are still not in force: vcpus.maximum"
    entry = result["guests"]["vt-ut-g1"]
    assert (result["msg"], entry["msg"], entry["restarted"], entry["in_force"], entry["restart_required"],
            entry["pending_restart"]) == ("1 of 1 guests failed: vt-ut-g1: " + message, message, True, [], True,
                                          ["vcpus.maximum"])
