"""tuning_info effective: true on running guests of qemu:///system: what the host kernel enforces for the QEMU
threads and the guest memory, read back after pinning, unpinning and hugepage-backing a guest with the modules."""

import contextlib
import os
import subprocess

import libvirt
import pytest

from conftest import run_module

NAME = "vt-h7-effective"
URI = "qemu:///system"
NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
GUEST_PAGES = 64  # 128 MiB of 2 MiB pages
HOST_CPUS = "0-%d" % (os.cpu_count() - 1)


def effective(name=NAME):
    guest = run_module("tuning_info", {"uri": URI, "name": name, "effective": True})["guest"]
    assert "effective" not in guest.get("unavailable", {}), guest["unavailable"]
    return guest["effective"], guest["effective_drift"]


def threads(view):
    """The kernel view without thread ids (they change with every start)."""
    return {"vcpus": [(t["vcpu"], t["cpus"], t["policy"], t["priority"]) for t in view["vcpus"]],
            "iothreads": [(t["iothread"], t["cpus"], t["policy"], t["priority"]) for t in view["iothreads"]],
            "emulator": sorted({(t["cpus"], t["policy"]) for t in view["emulator"]})}


def emulator(cpus):
    return [(cpus, "other")]


def test_qemu_names_its_threads(guests):
    guests(NAME + "-names", vcpus=2, current=2)
    view, _drift = effective(NAME + "-names")
    assert [t["name"] for t in view["vcpus"]] == ["CPU 0/KVM", "CPU 1/KVM"]
    assert [t["name"] for t in view["iothreads"]] == ["IO iothread1", "IO iothread2"]
    # QEMU 7.2's own threads of a guest with a VNC display: main, RCU, monitor iothread, VNC worker
    names = sorted(t["name"] for t in view["emulator"])
    assert names[0] == "IO mon_iothread" and names[-1] == "vnc_worker"
    assert set(names[1:-1]) <= {"call_rcu", "qemu-system-x86"} and "qemu-system-x86" in names


def read_pages():
    with open(NR_HUGEPAGES) as handle:
        return int(handle.read())


def write_pages(count):
    with open(NR_HUGEPAGES, "w") as handle:
        handle.write("%d\n" % count)


@pytest.fixture
def hugepages():
    """Reserve 2 MiB pages for one guest; give them back afterwards (only what this test added)."""
    before = read_pages()
    write_pages(before + GUEST_PAGES)
    if read_pages() < before + GUEST_PAGES:
        write_pages(before)
        pytest.fail("the kernel reserved only %d of %d 2 MiB pages" % (read_pages() - before, GUEST_PAGES))
    yield GUEST_PAGES
    now = read_pages()
    with contextlib.suppress(OSError):
        write_pages(before if now == before + GUEST_PAGES else max(now - GUEST_PAGES, 0))


def test_pinned_then_unpinned_guest(guests):
    dom = guests(NAME, vcpus=2, current=2,
                 extra="<cputune><vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='1'/>"
                       "<emulatorpin cpuset='0'/><iothreadpin iothread='1' cpuset='1'/></cputune>")
    view, drift = effective()
    assert drift == []
    assert view["pid"] == int(open("/run/libvirt/qemu/%s.pid" % NAME).read())
    assert threads(view) == {"vcpus": [(0, "0", "other", 0), (1, "1", "other", 0)],
                             "iothreads": [(1, "1", "other", 0), (2, HOST_CPUS, "other", 0)],
                             "emulator": emulator("0")}
    assert {t["name"] for t in view["kernel_threads"]} <= {"kvm-nx-lpage-re"}
    assert [(m["node"], m["page_size"]) for m in view["memory"]] == [(0, "4 KiB")]
    assert view["hugetlb_pages"] == []

    # unpinned on the running guest only: the kernel follows, the definition still pins
    dom.pinVcpuFlags(1, (True, True), libvirt.VIR_DOMAIN_AFFECT_LIVE)
    dom.pinEmulator((True, True), libvirt.VIR_DOMAIN_AFFECT_LIVE)
    view, drift = effective()
    main = next(t for t in view["emulator"] if t["tid"] == view["pid"])
    helpers = [t for t in view["emulator"] if t["tid"] != view["pid"]]
    assert threads(view)["vcpus"] == [(0, "0", "other", 0), (1, HOST_CPUS, "other", 0)]
    # libvirt widens the emulator cgroup and the main thread's own affinity; QEMU's helper threads keep the
    # affinity they inherited at start (the kernel restores a thread's own sched_setaffinity mask when its
    # cpuset widens), so they stay on CPU 0, as the definition still says
    assert (main["cpus"], sorted({t["cpus"] for t in helpers})) == (HOST_CPUS, ["0"])
    assert drift == ["vCPU 1 may run on %s, the definition pins it to 1" % HOST_CPUS,
                     "emulator thread %d (qemu-system-x86) may run on %s, the definition pins the emulator to 0"
                     % (main["tid"], HOST_CPUS)]

    # the module removes the pinning from the definition and from the running guest; the helper threads
    # still may run on CPU 0 only: what the kernel enforces is not what the definition now says
    result = run_module("cputune", {"uri": URI, "name": NAME, "state": "deleted"})
    assert result["changed"] is True, result
    view, drift = effective()
    assert threads(view)["vcpus"] == [(0, HOST_CPUS, "other", 0), (1, HOST_CPUS, "other", 0)]
    assert threads(view)["iothreads"] == [(1, HOST_CPUS, "other", 0), (2, HOST_CPUS, "other", 0)]
    assert drift == ["emulator threads %s may run on 0, the definition does not pin the emulator (host CPUs %s)"
                     % (", ".join("%d (%s)" % (t["tid"], t["name"]) for t in helpers), HOST_CPUS)]

    # a restart puts every thread where the definition says
    dom.destroy()
    dom.create()
    view, drift = effective()
    assert drift == []
    assert threads(view) == {"vcpus": [(0, HOST_CPUS, "other", 0), (1, HOST_CPUS, "other", 0)],
                             "iothreads": [(1, HOST_CPUS, "other", 0), (2, HOST_CPUS, "other", 0)],
                             "emulator": emulator(HOST_CPUS)}

    # a scheduler the definition does not ask for (set behind libvirt's back, as an operator's chrt would)
    tid = next(t["tid"] for t in view["vcpus"] if t["vcpu"] == 0)
    subprocess.run(["chrt", "--batch", "-p", "0", str(tid)], check=True)
    view, drift = effective()
    assert threads(view)["vcpus"][0] == (0, HOST_CPUS, "batch", 0)
    assert drift == ["vCPU 0 runs under the batch policy, the definition asks for other"]


def test_hugepage_backing_pending_then_in_force(guests, hugepages):
    dom = guests(NAME + "-huge", vcpus=1, current=1, memory_mib=128,
                 extra="<numatune><memory mode='strict' nodeset='0'/></numatune>")
    view, drift = effective(NAME + "-huge")
    assert (drift, view["hugetlb_pages"]) == ([], [])

    # the definition asks for hugepages; the running guest keeps its ordinary pages until it restarts
    result = run_module("memory_backing", {"uri": URI, "name": NAME + "-huge", "hugepages": [{"size": "2M"}],
                                           "allocation": {"mode": "immediate"}})
    assert (result["changed"], result["restart_required"]) == (True, True), result
    view, drift = effective(NAME + "-huge")
    assert drift == ["128 MiB of guest memory on 4 KiB pages, the definition asks for 2 MiB pages"]
    assert view["hugetlb_pages"] == []

    dom.destroy()
    dom.create()
    view, drift = effective(NAME + "-huge")
    assert drift == []
    assert view["memory"] == [{"node": 0, "page_size": "2 MiB", "size": "128 MiB"}]
    assert view["hugetlb_pages"] == [{"node": 0, "page_size": "2 MiB", "pages": GUEST_PAGES}]
    assert view["transparent_hugepages"] == "0 KiB"


def test_a_guest_that_does_not_run_has_no_kernel_view(guests):
    guests(NAME + "-off", start=False)
    guest = run_module("tuning_info", {"uri": URI, "name": NAME + "-off", "effective": True})["guest"]
    assert (guest["running"], guest["effective"], guest["effective_drift"]) == (False, {}, [])
    assert "unavailable" not in guest
