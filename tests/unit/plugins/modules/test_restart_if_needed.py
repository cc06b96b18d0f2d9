"""restart: never | if_needed, shutdown_timeout and force_off on every tuning module, on the test driver.

The test driver stops a guest at once on an ACPI shutdown request; a guest that ignores it is a
patched LibvirtEdge.shutdown. The real daemon's flow is tests/integration/test_restart_if_needed.py.
"""

import pytest

from conftest import fixture_text, run_module

from ansible_collections.virtuned.libvirt.plugins.module_utils.edge import connection
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import LibvirtCallError
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner import apply, batch

URI = "test:///default"
VCPUS = {"before": {"maximum": 4, "placement": "static"}, "after": {"maximum": 6, "placement": "static"}}
REASONS = {"vcpus.maximum": "the maximum number of vCPUs changes at the next boot"}
GUEST_XML = fixture_text("guest-testdriver.xml")


@pytest.fixture
def conn(testdriver):
    conn, created = testdriver
    for name in ("vt-ut-r1", "vt-ut-r2", "vt-ut-r3", "vt-ut-r4"):
        conn.defineXML(GUEST_XML.replace("NAME", name))
        created.append(name)
    return conn


def start(conn, name="vt-ut-r1"):
    dom = conn.lookupByName(name)
    dom.create()
    return dom


def max_vcpus(conn, name, inactive=False):
    root = parse_domain(conn.lookupByName(name).XMLDesc(2 if inactive else 0))
    return int(root.findtext("vcpu"))


@pytest.fixture
def ignored_shutdown(monkeypatch):
    """Guests that ignore the ACPI request (no OS), and a record of every shutdown and power-off asked."""
    calls = []

    def shutdown(self, dom, timeout, poll=0.5):
        calls.append(("shutdown", dom.name(), timeout))
        return False

    real_destroy = connection.LibvirtEdge.destroy

    def destroy(self, dom):
        calls.append(("destroy", dom.name()))
        real_destroy(self, dom)
    monkeypatch.setattr(connection.LibvirtEdge, "shutdown", shutdown)
    monkeypatch.setattr(connection.LibvirtEdge, "destroy", destroy)
    return calls


def no_connection(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("no connection may be opened")
    monkeypatch.setattr(apply, "LibvirtEdge", refuse)
    monkeypatch.setattr(batch, "LibvirtEdge", refuse)


# ---------------------------------------------------------------- options
@pytest.mark.parametrize("module, args, message", [
    ("vcpus", {"name": "g", "maximum": 6, "restart": "sometimes"},
     "value of restart must be one of: never, if_needed, got: sometimes"),
    ("domain_tuning", {"name": "g", "vcpus": {"maximum": 6}, "restart": "always"},
     "value of restart must be one of: never, if_needed, got: always"),
    ("vcpus", {"name": "g", "maximum": 6, "restart": "if_needed", "shutdown_timeout": -5},
     "shutdown_timeout: -5 is not valid: seconds are 0 or more"),
    ("domain_tuning", {"name": "g", "vcpus": {"maximum": 6}, "shutdown_timeout": -1},
     "shutdown_timeout: -1 is not valid: seconds are 0 or more"),
    ("domain_tuning", {"guests": [{"name": "g", "vcpus": {"maximum": 6}}], "restart_timeout": -2},
     "restart_timeout: -2 is not valid: seconds are 0 or more"),
    ("cputune", {"name": "g", "emulatorpin": "0", "shutdown_timeout": "soon"},
     "argument 'shutdown_timeout' is of type str and we were unable to convert to int: \"'soon'\" cannot be "
     "converted to an int"),
    ("domain_tuning", {"guests": [{"name": "g", "restart": "later", "vcpus": {"maximum": 6}}]},
     "guests[0].restart: 'later' is not valid: expected never or if_needed (older spellings: true is if_needed, "
     "false is never, force is if_needed with force_off)"),
    ("domain_tuning", {"guests": [{"name": "g", "restart": 3, "vcpus": {"maximum": 6}}]},
     "guests[0].restart: 3 is not valid: expected never or if_needed (older spellings: true is if_needed, "
     "false is never, force is if_needed with force_off)"),
])
def test_bad_restart_options_fail_naming_option_value_and_rule_before_any_connection(
        module, args, message, monkeypatch):
    no_connection(monkeypatch)
    assert run_module(module, dict(args, uri=URI)) == {"failed": True, "msg": message}


@pytest.mark.parametrize("module, area", [("vcpus", {"maximum": 6}), ("domain_tuning", {"vcpus": {"maximum": 6}})])
def test_restart_if_needed_is_refused_offline(module, area):
    result = run_module(module, dict(area, xml=GUEST_XML.replace("NAME", "offline"), restart="if_needed"))
    assert result == {"failed": True, "msg": "restart: 'if_needed' is not valid with xml: an offline run has no "
                                             "running guest to restart; leave restart at never"}


def test_an_offline_run_reports_restarted_false():
    result = run_module("vcpus", {"xml": GUEST_XML.replace("NAME", "offline"), "maximum": 6}, diff=False)
    assert (result["changed"], result["restarted"], result["restart_required"]) == (True, False, False)


# ---------------------------------------------------------------- single calls
def test_if_needed_restarts_the_running_guest_and_reads_it_back(conn):
    dom = start(conn)
    result = run_module("vcpus", {"uri": URI, "name": "vt-ut-r1", "maximum": 6, "restart": "if_needed"}, diff=False)
    assert result == dict(VCPUS, changed=True, live_changes=[], restart_required=False, restarted=True,
                          in_force=["vcpus.maximum"])
    # the running guest has 6 vCPUs at most: only a new boot gives it that
    assert (dom.isActive(), max_vcpus(conn, "vt-ut-r1")) == (1, 6)
    again = run_module("vcpus", {"uri": URI, "name": "vt-ut-r1", "maximum": 6, "restart": "if_needed"}, diff=False)
    assert again == {"changed": False, "live_changes": [], "restart_required": False, "restarted": False,
                     "before": VCPUS["after"], "after": VCPUS["after"]}


def test_check_mode_says_it_would_restart_and_agrees_with_the_real_run(conn):
    dom = start(conn)
    first_id = dom.ID()
    args = {"uri": URI, "name": "vt-ut-r1", "maximum": 6, "restart": "if_needed"}
    check = run_module("vcpus", args, check=True, diff=False)
    assert check == dict(VCPUS, changed=True, live_changes=[], restart_required=True, restarted=True,
                         pending_restart=["vcpus.maximum"], pending_reasons=REASONS)
    assert (dom.ID(), max_vcpus(conn, "vt-ut-r1", inactive=True)) == (first_id, 4)
    real = run_module("vcpus", args, diff=False)
    assert (real["changed"], real["restarted"]) == (check["changed"], check["restarted"])
    # and once it is in force, both say nothing is to be done
    check_again = run_module("vcpus", args, check=True, diff=False)
    real_again = run_module("vcpus", args, diff=False)
    assert check_again == real_again == {"changed": False, "live_changes": [], "restart_required": False,
                                         "restarted": False, "before": VCPUS["after"], "after": VCPUS["after"]}


def test_never_leaves_the_change_waiting(conn):
    dom = start(conn)
    first_id = dom.ID()
    result = run_module("vcpus", {"uri": URI, "name": "vt-ut-r1", "maximum": 6}, diff=False)
    assert (result["restarted"], result["restart_required"], result["pending_restart"]) == (
        False, True, ["vcpus.maximum"])
    assert (dom.ID(), max_vcpus(conn, "vt-ut-r1")) == (first_id, 4)


def test_a_guest_that_was_not_running_is_not_started(conn):
    result = run_module("vcpus", {"uri": URI, "name": "vt-ut-r2", "maximum": 6, "restart": "if_needed",
                                  "force_off": True}, diff=False)
    assert result == dict(VCPUS, changed=True, live_changes=[], restart_required=False, restarted=False)
    assert (conn.lookupByName("vt-ut-r2").isActive(), max_vcpus(conn, "vt-ut-r2", inactive=True)) == (0, 6)


def test_a_guest_that_ignores_the_shutdown_fails_the_task_and_runs_on_with_the_definition_written(
        conn, ignored_shutdown):
    dom = start(conn)
    first_id = dom.ID()
    result = run_module("vcpus", {"uri": URI, "name": "vt-ut-r1", "maximum": 6, "restart": "if_needed",
                                  "shutdown_timeout": 3}, diff=False)
    message = ("restart: vt-ut-r1 did not shut down within 3 s of an ACPI shutdown request (a guest needs an OS "
               "that handles it); it runs on with the settings of its last boot; the persistent definition is "
               "updated; vcpus.maximum waits for its next boot; force_off: true powers it off after shutdown_timeout")
    assert result == dict(VCPUS, failed=True, msg=message, changed=True, live_changes=[], restart_required=True,
                          restarted=False, pending_restart=["vcpus.maximum"], pending_reasons=REASONS)
    assert ignored_shutdown == [("shutdown", "vt-ut-r1", 3)]
    assert (dom.isActive(), dom.ID(), max_vcpus(conn, "vt-ut-r1"), max_vcpus(conn, "vt-ut-r1", inactive=True)) == (
        1, first_id, 4, 6)


def test_force_off_powers_off_after_the_timeout_and_starts_the_guest(conn, ignored_shutdown):
    dom = start(conn)
    result = run_module("domain_tuning", {"uri": URI, "name": "vt-ut-r1", "vcpus": {"maximum": 6},
                                          "restart": "if_needed", "force_off": True, "restart_timeout": 2}, diff=False)
    assert result == {"changed": True, "live_changes": [], "restart_required": False, "restarted": True,
                      "in_force": ["vcpus.maximum"], "before": {"vcpus": VCPUS["before"]},
                      "after": {"vcpus": VCPUS["after"]}}
    assert ignored_shutdown == [("shutdown", "vt-ut-r1", 2), ("destroy", "vt-ut-r1")]
    assert (dom.isActive(), max_vcpus(conn, "vt-ut-r1")) == (1, 6)


def test_a_guest_that_stopped_just_as_it_was_powered_off_is_started(conn, monkeypatch):
    dom = start(conn)

    def late_shutdown(self, dom, timeout, poll=0.5):
        dom.destroy()  # it stopped right after the wait gave up
        return False

    def refused_destroy(self, dom):
        raise LibvirtCallError("libvirt refused powering off vt-ut-r1: domain is not running")
    monkeypatch.setattr(connection.LibvirtEdge, "shutdown", late_shutdown)
    monkeypatch.setattr(connection.LibvirtEdge, "destroy", refused_destroy)
    result = run_module("vcpus", {"uri": URI, "name": "vt-ut-r1", "maximum": 6, "restart": "if_needed",
                                  "force_off": True}, diff=False)
    assert (result["restarted"], result["in_force"], dom.isActive()) == (True, ["vcpus.maximum"], 1)


def test_a_guest_that_does_not_start_again_fails_and_is_left_shut_off(conn, monkeypatch):
    dom = start(conn)

    def refuse(self, dom):
        raise LibvirtCallError("libvirt refused starting vt-ut-r1: no hugepages")
    monkeypatch.setattr(connection.LibvirtEdge, "start", refuse)
    result = run_module("vcpus", {"uri": URI, "name": "vt-ut-r1", "maximum": 6, "restart": "if_needed"}, diff=False)
    message = ("restart: vt-ut-r1 was shut down and did not start again: libvirt refused starting vt-ut-r1: no "
               "hugepages. It is shut off now; the persistent definition is updated; vcpus.maximum waits for its "
               "next start")
    assert result == dict(VCPUS, failed=True, msg=message, changed=True, live_changes=[], restart_required=True,
                          restarted=False, pending_restart=["vcpus.maximum"], pending_reasons=REASONS)
    assert dom.isActive() == 0


def test_a_change_already_defined_but_not_in_force_is_restarted_for(conn):
    dom = start(conn)
    run_module("vcpus", {"uri": URI, "name": "vt-ut-r1", "maximum": 6}, diff=False)
    result = run_module("vcpus", {"uri": URI, "name": "vt-ut-r1", "maximum": 6, "restart": "if_needed"}, diff=False)
    # nothing to define, but the restart is a change
    assert result == {"changed": True, "live_changes": [], "restart_required": False, "restarted": True,
                      "in_force": ["vcpus.maximum"], "before": VCPUS["after"], "after": VCPUS["after"]}
    assert max_vcpus(conn, "vt-ut-r1") == 6 and dom.isActive() == 1


def test_what_goes_live_needs_no_restart(conn):
    dom = start(conn)
    first_id = dom.ID()
    result = run_module("cputune", {"uri": URI, "name": "vt-ut-r1", "emulatorpin": "0", "restart": "if_needed"},
                        diff=False)
    assert (result["changed"], result["restarted"], result["restart_required"], result["live_changes"]) == (
        True, False, False, ["pin the emulator to 0"])
    assert dom.ID() == first_id


# ---------------------------------------------------------------- guests
def test_guests_mix_restart_values_with_the_tasks_defaults(conn, ignored_shutdown):
    for name in ("vt-ut-r1", "vt-ut-r2", "vt-ut-r3", "vt-ut-r4"):
        start(conn, name)
    result = run_module("domain_tuning", {"uri": URI, "restart": "if_needed", "shutdown_timeout": 1, "guests": [
        {"name": "vt-ut-r1", "vcpus": {"maximum": 6}},                                      # task: if_needed, no force
        {"name": "vt-ut-r2", "restart": "never", "vcpus": {"maximum": 6}},
        {"name": "vt-ut-r3", "restart": "force", "vcpus": {"maximum": 6}},                  # legacy: + force_off
        {"name": "vt-ut-r4", "restart": "if_needed", "force_off": True, "vcpus": {"maximum": 6}},
    ]}, diff=False)
    message = ("restart: vt-ut-r1 did not shut down within 1 s of an ACPI shutdown request (a guest needs an OS "
               "that handles it); it runs on with the settings of its last boot; the persistent definition is "
               "updated; vcpus.maximum waits for its next boot; force_off: true powers it off after shutdown_timeout")
    nested = {"before": {"vcpus": VCPUS["before"]}, "after": {"vcpus": VCPUS["after"]}}
    waiting = dict(nested, changed=True, live_changes=[], restart_required=True, restarted=False,
                   pending_restart=["vcpus.maximum"], pending_reasons=REASONS)
    restarted = dict(nested, changed=True, live_changes=[], restart_required=False, restarted=True,
                     in_force=["vcpus.maximum"])
    assert result == {"changed": True, "failed": True, "msg": "1 of 4 guests failed: vt-ut-r1: " + message, "guests": {
        "vt-ut-r1": dict(waiting, failed=True, msg=message),
        "vt-ut-r2": waiting,
        "vt-ut-r3": restarted,
        "vt-ut-r4": restarted}}
    assert ignored_shutdown == [("shutdown", "vt-ut-r1", 1), ("shutdown", "vt-ut-r3", 1), ("destroy", "vt-ut-r3"),
                                ("shutdown", "vt-ut-r4", 1), ("destroy", "vt-ut-r4")]
    assert [max_vcpus(conn, name) for name in ("vt-ut-r1", "vt-ut-r2", "vt-ut-r3", "vt-ut-r4")] == [4, 4, 6, 6]


@pytest.mark.parametrize("legacy, restarted", [(True, True), (False, False), ("yes", True), ("never", False)])
def test_guests_legacy_restart_spellings(conn, legacy, restarted):
    start(conn)
    result = run_module("domain_tuning", {"uri": URI, "guests": [
        {"name": "vt-ut-r1", "restart": legacy, "vcpus": {"maximum": 6}}]}, diff=False)
    assert result["guests"]["vt-ut-r1"]["restarted"] is restarted


def test_guests_check_mode_agrees_with_the_real_run(conn):
    for name in ("vt-ut-r1", "vt-ut-r2"):
        start(conn, name)
    args = {"uri": URI, "restart": "if_needed", "guests": [
        {"name": "vt-ut-r1", "vcpus": {"maximum": 6}}, {"name": "vt-ut-r2", "restart": "never", "vcpus": {"maximum": 6}},
        {"name": "vt-ut-r3", "vcpus": {"maximum": 6}}]}
    check = run_module("domain_tuning", args, check=True, diff=False)
    real = run_module("domain_tuning", args, diff=False)

    def seen(result):
        return {name: (entry["changed"], entry["restarted"]) for name, entry in result["guests"].items()}
    assert seen(check) == seen(real) == {"vt-ut-r1": (True, True), "vt-ut-r2": (True, False),
                                         "vt-ut-r3": (True, False)}
    assert conn.lookupByName("vt-ut-r3").isActive() == 0


def test_a_run_whose_live_call_fails_does_not_restart(conn):
    # the test driver refuses pinning a vCPU live
    dom = start(conn)
    result = run_module("domain_tuning", {"uri": URI, "name": "vt-ut-r1", "vcpus": {"maximum": 6},
                                          "cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "0"}]},
                                          "restart": "if_needed", "force_off": True}, diff=False)
    assert (result["failed"], result["changed"], result["restarted"], result["restart_required"]) == (
        True, True, False, True)
    assert sorted(result["pending_restart"]) == ["cputune.vcpupin", "vcpus.maximum"]
    assert (dom.isActive(), max_vcpus(conn, "vt-ut-r1"), max_vcpus(conn, "vt-ut-r1", inactive=True)) == (1, 4, 6)
