"""numa_plan on qemu:///system: with no `existing`, what the defined guests hold is read and kept from others."""

from conftest import run_module

NAME = "vt-it-plan-held"
PINNED = "<cputune><vcpupin vcpu='0' cpuset='0'/></cputune>"


def test_defined_guests_hold_their_cpus(guests):
    guests(NAME, vcpus=1, start=False, extra=PINNED)
    placements = run_module("guest_placements_info", {"uri": "qemu:///system"})
    mine = [entry for entry in placements["existing"] if entry["name"] == NAME]
    assert mine == [{"name": NAME, "cpus": "0", "memory": [{"node": 0, "size": "128 MiB", "page_size": "small"}],
                     "active": False}]

    new_guest = {"name": "new", "vcpus": 1, "memory": "64M", "cpu_policy": "dedicated"}
    request = {"uri": "qemu:///system", "guests": [new_guest]}
    connected = run_module("numa_plan", request)
    explicit = run_module("numa_plan", dict(request, existing=placements["existing"]))
    assert connected == explicit
    # the guest's own hold alone moves the new guest off CPU 0
    nothing_held = run_module("numa_plan", dict(request, existing=[]))
    assert nothing_held["plan"][0]["cputune"]["vcpupin"] == [{"vcpu": 0, "cpuset": "0"}]
    mine_held = run_module("numa_plan", dict(request, existing=mine))
    assert mine_held["plan"][0]["cputune"]["vcpupin"] == [{"vcpu": 0, "cpuset": "1"}]
