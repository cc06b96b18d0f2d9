"""make bench-guest: an untuned and a tuned guest, side by side in one run, interleaved A B A B A B.

The guest boots a Debian kernel straight into an initramfs (tests/bench/bench_guest/build.sh) whose
/init runs guestbench.c and powers off; the figures come back on the serial console (a log file).
"Tuned" is the collection's own modules applied (tune.yml): 2 MiB hugepages allocated at start, the
vCPU and the emulator pinned to host CPUs of their own, memory bound to host node 0 (strict).
For each metric: the median and the spread (min-max) of each side and the tuned/untuned ratio of
the medians. The tuned guest is also read back with tuning_info effective: true, so that the
figures are known to come from a guest whose tuning was in force.

On a host with hardware virtualization (vmx/svm and /dev/kvm) the guests run under KVM; elsewhere
(these test machines: KVM is kvm_pvm, it cannot run a guest kernel) under TCG, and the output says so.

Environment: BENCH_GUEST_PAIRS (3), BENCH_GUEST_WS_MIB (512), BENCH_GUEST_LOADS (pointer-chase loads),
BENCH_GUEST_WAKEUPS, BENCH_GUEST_TIMEOUT (seconds per boot), BENCH_PREFIX (guest names), BENCH_GUEST_VIRT
(kvm or qemu, to force one).
"""

import contextlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import time

import libvirt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))
BUILD = os.environ.get("BENCH_GUEST_BUILD", os.path.join(ROOT, ".build", "bench-guest"))
PAIRS = int(os.environ.get("BENCH_GUEST_PAIRS", "3"))
WORKING_SET_MIB = int(os.environ.get("BENCH_GUEST_WS_MIB", "512"))
LOADS = int(os.environ.get("BENCH_GUEST_LOADS", "4000000"))
WAKEUPS = int(os.environ.get("BENCH_GUEST_WAKEUPS", "2000"))
TIMEOUT = int(os.environ.get("BENCH_GUEST_TIMEOUT", "900"))
PREFIX = os.environ.get("BENCH_PREFIX", "vt-bench-") + "guest-"
# the working set, the copy buffers (64 MiB), the kernel and the initramfs, rounded to 2 MiB pages
MEMORY_MIB = (WORKING_SET_MIB + 64 + 160 + 1) // 2 * 2
NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
METRICS = (("chase_ns", "pointer chase, ns/load", "lower"), ("copy_mib_s", "memcpy bandwidth, MiB/s", "higher"),
           ("wake_us_p50", "wake-up latency p50, us", "lower"), ("wake_us_p99", "wake-up latency p99, us", "lower"))

GUEST = """<domain type='{virt}'>
  <name>{name}</name>
  <memory unit='MiB'>{memory}</memory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{build}/vmlinuz</kernel>
    <initrd>{build}/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 mitigations=off bench={ws},{loads},{wakeups}</cmdline>
  </os>
  <features><acpi/></features>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>{model}</model></cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='{log}'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>"""


def hardware_virtualization():
    with open("/proc/cpuinfo") as handle:
        flags = re.search(r"^flags\s*:(.*)$", handle.read(), re.MULTILINE)
    return bool(flags and re.search(r"\b(vmx|svm)\b", flags.group(1))) and os.path.exists("/dev/kvm")


def ansible_env():
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"),
                ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"))


def tune(name):
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
           os.path.join(ROOT, "tests", "bench", "bench_guest", "tune.yml"), "-e", "guest=%s" % name]
    proc = subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"),
                          check=False)
    if proc.returncode != 0:
        raise SystemExit("tuning %s failed:\n%s%s" % (name, proc.stdout[-3000:], proc.stderr[-2000:]))


def effective(name):
    """tuning_info effective: true for the running guest: (effective_drift, hugetlb pages held)."""
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.virtuned.libvirt.plugins.modules import tuning_info
    out = io.StringIO()
    with patch_module_args({"uri": "qemu:///system", "name": name, "effective": True}), contextlib.redirect_stdout(out):
        with contextlib.suppress(SystemExit):
            tuning_info.main()
    guest = json.loads(out.getvalue()).get("guest", {})
    return guest.get("effective_drift"), guest.get("effective", {}).get("hugetlb_pages"), guest.get("unavailable")


def read_pages():
    with open(NR_HUGEPAGES) as handle:
        return int(handle.read())


def write_pages(count):
    with open(NR_HUGEPAGES, "w") as handle:
        handle.write("%d\n" % count)


def free_2m(conn):
    return sum(sizes.get(2048, 0) for sizes in conn.getFreePages([2048], 0, 1, 0).values())


class Hugepages:
    """2 MiB pages for the tuned guest: the pool grows by what is missing before each tuned boot (other users
    of the pool come and go) and shrinks by what this run added at the end."""

    def __init__(self, conn, pages):
        self.conn, self.pages, self.added = conn, pages, 0

    def ensure(self):
        missing = self.pages - free_2m(self.conn)
        if missing > 0:
            before = read_pages()
            write_pages(before + missing)
            self.added += read_pages() - before
            if free_2m(self.conn) < self.pages:
                raise SystemExit("the kernel reserved too few 2 MiB pages: %d free, the tuned guest needs %d"
                                 % (free_2m(self.conn), self.pages))

    def give_back(self):
        if self.added:
            with contextlib.suppress(OSError):
                write_pages(max(read_pages() - self.added, 0))
            self.added = 0


def boot(conn, name, log, on_start=None):
    """Start the guest, wait for it to power off; the figures of its BENCH line and the seconds it took."""
    with open(log, "w"):
        pass
    dom = conn.lookupByName(name)
    start = time.monotonic()
    dom.create()
    with contextlib.suppress(OSError, ValueError):
        with open("/run/libvirt/qemu/%s.pid" % name) as handle:
            os.system("renice -n 19 -p %d >/dev/null 2>&1" % int(handle.read()))
    extra = on_start(name) if on_start else None
    while dom.isActive():
        if time.monotonic() - start > TIMEOUT:
            dom.destroy()
            raise SystemExit("%s did not power off within %d s; its console:\n%s" % (name, TIMEOUT, tail(log)))
        time.sleep(1)
    elapsed = time.monotonic() - start
    with open(log, errors="replace") as handle:
        text = handle.read()
    found = re.search(r"^BENCH (chase_ns=.*)$", text, re.MULTILINE)
    if not found:
        raise SystemExit("%s printed no figures; its console:\n%s" % (name, tail(log)))
    figures = {key: float(value) for key, value in re.findall(r"(\w+)=([\d.]+)", found.group(1))}
    return figures, elapsed, extra


def tail(log, lines=30):
    with contextlib.suppress(OSError):
        with open(log, errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    return "(no console log)"


def cleanup(conn, names):
    for name in names:
        with contextlib.suppress(libvirt.libvirtError):
            dom = conn.lookupByName(name)
            if dom.isActive():
                dom.destroy()
            dom.undefine()


def summary(values):
    return statistics.median(values), min(values), max(values)


def main():
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    forced = os.environ.get("BENCH_GUEST_VIRT")
    virt = forced or ("kvm" if hardware_virtualization() else "qemu")
    label = "KVM" if virt == "kvm" else "TCG (software emulation, no hardware virtualization on this host)"
    conn = libvirt.open("qemu:///system")
    names = {"untuned": PREFIX + "untuned", "tuned": PREFIX + "tuned"}
    logs = {side: os.path.join(BUILD, "console-%s.log" % side) for side in names}
    cleanup(conn, names.values())
    hugepages = Hugepages(conn, MEMORY_MIB // 2)
    try:
        for side, name in names.items():
            conn.defineXML(GUEST.format(virt=virt, name=name, memory=MEMORY_MIB, build=BUILD, ws=WORKING_SET_MIB,
                                        loads=LOADS, wakeups=WAKEUPS, log=logs[side],
                                        model="kvm64" if virt == "kvm" else "qemu64"))
        tune(names["tuned"])
        print("bench-guest: %s; guest %d MiB, 1 vCPU, working set %d MiB, %d pointer-chase loads, %d wake-ups; "
              "%d pairs interleaved" % (label, MEMORY_MIB, WORKING_SET_MIB, LOADS, WAKEUPS, PAIRS))
        sys.stdout.flush()
        results = {"untuned": [], "tuned": []}
        proof = []
        for pair in range(PAIRS):
            for side in ("untuned", "tuned"):
                if side == "tuned":
                    hugepages.ensure()
                check = effective if side == "tuned" and pair == 0 else None
                figures, elapsed, extra = boot(conn, names[side], logs[side], check)
                if extra is not None:
                    proof.append(extra)
                results[side].append(figures)
                shown = "  ".join("%s=%g" % item for item in sorted(figures.items()))
                print("  run %d %-8s %5.0f s  %s" % (pair + 1, side, elapsed, shown))
                sys.stdout.flush()
        if proof:
            drift, hugetlb, unavailable = proof[0]
            print("  tuned guest read back with tuning_info effective: true: effective_drift %s, hugetlb pages %s%s"
                  % (json.dumps(drift), json.dumps(hugetlb), (", unavailable %s" % json.dumps(unavailable)) if unavailable else ""))
        print("  %-28s %-26s %-26s %s" % ("metric", "untuned median (min-max)", "tuned median (min-max)", "tuned/untuned"))
        for key, title, better in METRICS:
            untuned = summary([run[key] for run in results["untuned"]])
            tuned = summary([run[key] for run in results["tuned"]])
            ratio = tuned[0] / untuned[0] if untuned[0] else float("nan")
            print("  %-28s %-26s %-26s %.2f (%s is better)" % (
                title, "%g (%g-%g)" % untuned, "%g (%g-%g)" % tuned, ratio, better))
        if virt != "kvm":
            print("  note: under TCG every guest memory access goes through QEMU's software TLB; host hugepages and"
                  " pinning still change what the QEMU thread pays on the host (host TLB misses, migrations,"
                  " a CPU shared with the emulator), but the figures are not what a KVM guest would see and the"
                  " ratios are not a prediction of KVM ratios.")
    finally:
        cleanup(conn, names.values())
        hugepages.give_back()
        conn.close()


if __name__ == "__main__":
    main()
