"""make bench: a no-op converge per area module over 50 defined guests vs ansible.builtin.ping over the same loop.

One ratio per area (aim <= 1.15, issue 13); BENCH_AREAS=cputune,memtune picks areas, BENCH_GUESTS and
BENCH_ROUNDS the size. Each area first converges the guests once (untimed), then its no-op runs are timed,
each right after a ping run.
"""

import os
import re
import subprocess
import sys
import time

import libvirt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ratios import record  # noqa: E402  pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COUNT = int(os.environ.get("BENCH_GUESTS", "50"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
PREFIX = os.environ.get("BENCH_PREFIX", "vt-bench-")
AREAS = os.environ.get("BENCH_AREAS", "cputune,memtune,numa,vcpus,cpu_model,iothreads,memory_backing,boot_firmware")
GUEST = """<domain type='kvm'><name>{prefix}{i}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os>
<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>kvm64</model></cpu>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"""


def playbook(mode, expect_changed=False):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"),
               ANSIBLE_PYTHON_INTERPRETER=os.environ.get("ANSIBLE_PYTHON_INTERPRETER", sys.executable))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
           os.path.join(ROOT, "tests", "bench", "converge.yml"), "-e", "bench_mode=%s bench_count=%d bench_prefix=%s" % (mode, COUNT, PREFIX)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"), check=False)
    elapsed = time.perf_counter() - start
    found = re.search(r"changed=(\d+)", proc.stdout)
    changed = int(found.group(1)) if found else -1
    if proc.returncode != 0 or (not expect_changed and changed != 0):
        raise SystemExit("bench playbook (%s) failed or changed something:\n%s%s" % (
            mode, proc.stdout[-3000:], proc.stderr[-2000:]))
    return elapsed


def main():
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open("qemu:///system")
    names = ["%s%d" % (PREFIX, i) for i in range(COUNT)]
    areas = [area for area in AREAS.split(",") if area]
    try:
        for i in range(COUNT):
            conn.defineXML(GUEST.format(prefix=PREFIX, i=i))
        playbook("ping")  # warm-up: caches
        for area in areas:
            playbook(area, expect_changed=True)  # converge once; the timed runs are no-ops
        # each area's no-op runs right after a ping over the same loop, so that a change in the host's load
        # between areas does not end up in their ratios
        ping, tune = {area: [] for area in areas}, {area: [] for area in areas}
        for _round in range(ROUNDS):
            for area in areas:
                ping[area].append(playbook("ping"))
                tune[area].append(playbook(area))
        print("bench converge: no-op converge over %d defined guests, best of %d rounds, each after its own ping"
              % (COUNT, ROUNDS))
        for area in areas:
            best, best_ping = min(tune[area]), min(ping[area])
            print("  %-16s no-op %6.2f s  (%.1f ms/item)   ping %6.2f s   %.2f x ping" % (
                area, best, 1000 * best / COUNT, best_ping, best / best_ping))
            record("converge", "%s no-op, %d guests / ping" % (area, COUNT), best / best_ping)
    finally:
        for name in names:
            try:
                conn.lookupByName(name).undefine()
            except libvirt.libvirtError:
                pass
        conn.close()


if __name__ == "__main__":
    main()
