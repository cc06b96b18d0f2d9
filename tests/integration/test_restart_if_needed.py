"""restart: if_needed on real guests (qemu:///system): a change that waits for the boot (the vCPU maximum) is put
in force by a restart, a guest that ignores the ACPI request fails the task unless force_off powers it off, a
shut-off guest is not started, and domain_tuning guests does the same per guest.

The guests sit in the firmware with no OS, so they ignore ACPI: shutdown_timeout is 2 s. Every step runs in
check mode, for real, and again (nothing left to do). Run inside ``flock -s /tmp/virtuned-libvirtd.lock``.
"""

import libvirt

from integration.conftest import run_playbook

RUNNING, STOPPED = "vt-it-restart-run", "vt-it-restart-off"
LIVE, CONFIG, MAXIMUM = libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG, libvirt.VIR_DOMAIN_VCPU_MAXIMUM
PLAYBOOK = "restart_if_needed.yml"
REASONS = {"vcpus.maximum": "the maximum number of vCPUs changes at the next boot"}
NOT_SHUT_DOWN = ("restart: %s did not shut down within 2 s of an ACPI shutdown request (a guest needs an OS that "
                 "handles it); it runs on with the settings of its last boot; %s%s waits for its next boot; "
                 "force_off: true powers it off after shutdown_timeout")
IGNORED = {"invocation", "diff", "_ansible_no_log", "warnings", "deprecations"}


def vcpus(maximum_before, maximum_after):
    return {"before": {"maximum": maximum_before, "placement": "static"},
            "after": {"maximum": maximum_after, "placement": "static"}}


def run(module, check=False, **tuning):
    """(rc, the tuning task's result without Ansible's own keys, stats) of one playbook run."""
    extra = dict({"tuning_module": module}, **{"tuning_" + key: value for key, value in tuning.items()})
    rc, tasks, stats = run_playbook(PLAYBOOK, extra, check=check, diff=False)
    task = tasks["Tune with the area module" if module == "vcpus" else "Tune with domain_tuning"]
    # ansible-core 2.19 adds this to every failed module result; a real traceback would stay and fail the test
    if task.get("exception") == "(traceback unavailable)":
        task = {key: value for key, value in task.items() if key != "exception"}
    return rc, {key: value for key, value in task.items() if key not in IGNORED}, stats


def domain_id(dom):
    """The running guest's id, looked up afresh (a virDomain keeps the id it was looked up with)."""
    return dom.connect().lookupByUUIDString(dom.UUIDString()).ID()


def maxima(dom):
    """(persistent vCPU maximum, running vCPU maximum or None, running)."""
    running = bool(dom.isActive())
    return dom.vcpusFlags(CONFIG | MAXIMUM), dom.vcpusFlags(LIVE | MAXIMUM) if running else None, running


def test_force_off_restarts_the_running_guest_and_puts_the_maximum_in_force(guests):
    dom = guests(RUNNING, vcpus=2)
    first_id = domain_id(dom)
    args = dict(name=RUNNING, maximum=3, restart="if_needed", force_off=True, shutdown_timeout=2)

    rc, result, stats = run("vcpus", check=True, **args)
    assert (rc, stats["changed"]) == (0, 1)
    assert result == dict(vcpus(2, 3), changed=True, live_changes=[], restart_required=True, restarted=True,
                          pending_restart=["vcpus.maximum"], pending_reasons=REASONS)
    assert (maxima(dom), domain_id(dom)) == ((2, 2, True), first_id)

    rc, result, stats = run("vcpus", **args)
    assert (rc, stats["changed"]) == (0, 1)
    assert result == dict(vcpus(2, 3), changed=True, live_changes=[], restart_required=False, restarted=True,
                          in_force=["vcpus.maximum"])
    assert maxima(dom) == (3, 3, True)
    assert domain_id(dom) != first_id  # a new QEMU process: it was powered off and started
    restarted_id = domain_id(dom)

    for check in (True, False):
        rc, result, stats = run("vcpus", check=check, **args)
        assert (rc, stats["changed"]) == (0, 0)
        assert result == dict(vcpus(3, 3), changed=False, live_changes=[], restart_required=False, restarted=False)
        assert (maxima(dom), domain_id(dom)) == ((3, 3, True), restarted_id)


def test_without_force_off_the_task_fails_saying_so_and_the_guest_runs_on_with_the_definition_written(guests):
    dom = guests(RUNNING, vcpus=2)
    first_id = domain_id(dom)
    args = dict(name=RUNNING, maximum=3, restart="if_needed", shutdown_timeout=2)

    # check mode cannot know that the guest will ignore the request: it says it would restart
    rc, result, _stats = run("domain_tuning", check=True, **args)
    assert (rc, result["changed"], result["restarted"], result["pending_restart"]) == (
        0, True, True, ["vcpus.maximum"])

    rc, result, stats = run("domain_tuning", **args)
    message = NOT_SHUT_DOWN % (RUNNING, "the persistent definition is updated; ", "vcpus.maximum")
    assert (rc, stats["changed"], stats["ignored"]) == (0, 1, 1)
    assert result == {"changed": True, "failed": True, "msg": message, "live_changes": [], "restart_required": True,
                      "restarted": False, "pending_restart": ["vcpus.maximum"], "pending_reasons": REASONS,
                      "before": {"vcpus": vcpus(2, 3)["before"]}, "after": {"vcpus": vcpus(2, 3)["after"]}}
    assert (maxima(dom), domain_id(dom)) == ((3, 2, True), first_id)

    # again: nothing left to define, the guest still ignores the request, the task still fails and says why
    rc, result, stats = run("domain_tuning", **args)
    assert (rc, stats["changed"], stats["ignored"]) == (0, 0, 1)
    assert result == {"changed": False, "failed": True, "msg": NOT_SHUT_DOWN % (RUNNING, "", "vcpus.maximum"),
                      "live_changes": [], "restart_required": True, "restarted": False,
                      "pending_restart": ["vcpus.maximum"], "pending_reasons": REASONS,
                      "before": {"vcpus": vcpus(3, 3)["before"]}, "after": {"vcpus": vcpus(3, 3)["after"]}}
    assert (maxima(dom), domain_id(dom)) == ((3, 2, True), first_id)


def test_a_shut_off_guest_is_not_started(guests):
    dom = guests(STOPPED, vcpus=2, start=False)
    args = dict(name=STOPPED, maximum=3, restart="if_needed", force_off=True, shutdown_timeout=2)
    for check, changed, before in ((True, True, 2), (False, True, 2), (False, False, 3)):
        rc, result, stats = run("vcpus", check=check, **args)
        assert (rc, stats["changed"]) == (0, int(changed))
        assert result == dict(vcpus(before, 3), changed=changed, live_changes=[], restart_required=False,
                              restarted=False)
        assert maxima(dom) == (3 if not check or before == 3 else 2, None, False)


def test_guests_restart_per_entry_with_the_tasks_defaults(guests):
    running = guests(RUNNING, vcpus=2)
    stopped = guests(STOPPED, vcpus=2, start=False)
    first_id = domain_id(running)
    entries = [{"name": RUNNING, "vcpus": {"maximum": 3}},
               {"name": STOPPED, "restart": "never", "vcpus": {"maximum": 3}}]
    args = dict(guests=entries, restart="if_needed", force_off=True, shutdown_timeout=2)

    rc, result, stats = run("domain_tuning", check=True, **args)
    assert (rc, stats["changed"]) == (0, 1)
    assert result == {"changed": True, "guests": {
        RUNNING: {"changed": True, "live_changes": [], "restart_required": True, "restarted": True,
                  "pending_restart": ["vcpus.maximum"], "pending_reasons": REASONS,
                  "before": {"vcpus": vcpus(2, 3)["before"]}, "after": {"vcpus": vcpus(2, 3)["after"]}},
        STOPPED: {"changed": True, "live_changes": [], "restart_required": False, "restarted": False,
                  "before": {"vcpus": vcpus(2, 3)["before"]}, "after": {"vcpus": vcpus(2, 3)["after"]}}}}
    assert (maxima(running), maxima(stopped), domain_id(running)) == ((2, 2, True), (2, None, False), first_id)

    rc, result, stats = run("domain_tuning", **args)
    assert (rc, stats["changed"]) == (0, 1)
    assert result == {"changed": True, "guests": {
        RUNNING: {"changed": True, "live_changes": [], "restart_required": False, "restarted": True,
                  "in_force": ["vcpus.maximum"],
                  "before": {"vcpus": vcpus(2, 3)["before"]}, "after": {"vcpus": vcpus(2, 3)["after"]}},
        STOPPED: {"changed": True, "live_changes": [], "restart_required": False, "restarted": False,
                  "before": {"vcpus": vcpus(2, 3)["before"]}, "after": {"vcpus": vcpus(2, 3)["after"]}}}}
    assert (maxima(running), maxima(stopped)) == ((3, 3, True), (3, None, False))
    assert domain_id(running) != first_id
    restarted_id = domain_id(running)

    for check in (True, False):
        rc, result, stats = run("domain_tuning", check=check, **args)
        assert (rc, stats["changed"]) == (0, 0)
        unchanged = {"changed": False, "live_changes": [], "restart_required": False, "restarted": False,
                     "before": {"vcpus": vcpus(3, 3)["before"]}, "after": {"vcpus": vcpus(3, 3)["after"]}}
        assert result == {"changed": False, "guests": {RUNNING: unchanged, STOPPED: unchanged}}
        assert (maxima(running), maxima(stopped), domain_id(running)) == ((3, 3, True), (3, None, False), restarted_id)
