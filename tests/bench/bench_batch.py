"""make bench: one call per host. A no-op cputune converge of 30 defined guests with one call per guest and with one
domain_tuning call (guests), vs ansible.builtin.ping over 30 items; the runs interleaved, best of BENCH_ROUNDS.

Ratios: single-call no-op / ping (aim <= 1.15) and batch of 30 guests / 30 pings (aim <= 0.10), each without
ansible-playbook's own start-up (a run whose plays match no host, measured in the same rounds). BENCH_BEFORE=PATH
(a collections directory holding another tree of the collection) adds that tree's single-call figure, measured in
the same run. Guests are named BENCH_PREFIX<n> (vt-bench-batch- by default).
"""

import json
import os
import re
import subprocess
import sys
import time

import libvirt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    from ratios import record  # noqa: E402  pylint: disable=wrong-import-position
except ImportError:  # tests/bench/ratios.py collects the run's figures where it exists
    record = None

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COUNT = int(os.environ.get("BENCH_GUESTS", "30"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PREFIX = os.environ.get("BENCH_PREFIX", "vt-bench-batch-")
BEFORE = os.environ.get("BENCH_BEFORE")
GUEST = """<domain type='kvm'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os>
<cputune><vcpupin vcpu='0' cpuset='0'/><emulatorpin cpuset='0-1'/></cputune>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"""
PIN = {"vcpupin": [{"vcpu": 0, "cpuset": "0"}], "emulatorpin": "0-1"}


def playbook(mode, names, collections=None):
    """Seconds for one run of tests/bench/batch.yml; it must succeed and change nothing."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"),
               ANSIBLE_PYTHON_INTERPRETER=os.environ.get("ANSIBLE_PYTHON_INTERPRETER", sys.executable))
    if collections:
        env["ANSIBLE_COLLECTIONS_PATH"] = collections
    extra = {"bench_mode": mode, "bench_batch": [dict(name=name, cputune=PIN) for name in names]}
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
           os.path.join(ROOT, "tests", "bench", "batch.yml"), "-e", json.dumps(extra)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"), check=False)
    elapsed = time.perf_counter() - start
    found = re.search(r"changed=(\d+)", proc.stdout)
    if mode == "none" and proc.returncode == 0:
        return elapsed
    if proc.returncode != 0 or not found or found.group(1) != "0":
        raise SystemExit("bench playbook (%s) failed or changed something:\n%s%s" % (
            mode, proc.stdout[-3000:], proc.stderr[-2000:]))
    return elapsed


def main():
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open("qemu:///system")
    names = ["%s%d" % (PREFIX, i) for i in range(COUNT)]
    runs = {"none": [], "ping": [], "single": [], "batch": []}
    if BEFORE:
        runs["single before"] = []
    try:
        for name in names:
            conn.defineXML(GUEST.format(name=name))
        playbook("single", names)  # warm-up: caches, and the guests are already converged
        for _round in range(ROUNDS):
            runs["none"].append(playbook("none", names))
            runs["ping"].append(playbook("ping", names))
            runs["single"].append(playbook("single", names))
            if BEFORE:
                runs["single before"].append(playbook("single", names, BEFORE))
            runs["batch"].append(playbook("batch", names))
        best = {mode: min(times) for mode, times in runs.items()}
        start_up = best["none"]
        work = {mode: max(best[mode] - start_up, 1e-3) for mode in best}
        ping = work["ping"]
        print("bench batch: a no-op cputune converge of %d defined guests, best of %d interleaved rounds" % (
            COUNT, ROUNDS))
        print("  ansible-playbook start-up (no host)            %6.2f s  (taken off every figure below)" % start_up)
        print("  ansible.builtin.ping over %d items             %6.2f s  (%.1f ms/item)" % (
            COUNT, ping, 1000 * ping / COUNT))
        print("  cputune, one call per guest (%d calls)         %6.2f s  %.2f x ping  (aim <= 1.15)" % (
            COUNT, work["single"], work["single"] / ping))
        if BEFORE:
            print("  cputune, one call per guest, before (%s)  %6.2f s  %.2f x ping" % (
                BEFORE, work["single before"], work["single before"] / ping))
        print("  domain_tuning guests, one call for %d guests   %6.2f s  %.3f x %d pings  (aim <= 0.10)" % (
            COUNT, work["batch"], work["batch"] / ping, COUNT))
        if record is not None:
            record("batch", "cputune no-op, one call per guest / ping", work["single"] / ping)
            record("batch", "batch of %d guests / %d pings" % (COUNT, COUNT), work["batch"] / ping)
    finally:
        for name in names:
            try:
                conn.lookupByName(name).undefine()
            except libvirt.libvirtError:
                pass
        conn.close()


if __name__ == "__main__":
    main()
