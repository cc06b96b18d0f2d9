"""make bench: a no-op converge per area module over 50 defined guests vs ansible.builtin.ping over the same loop.

One ratio per area (aim <= 1.15, issue 13); BENCH_AREAS=cputune,memtune picks areas, BENCH_GUESTS and
BENCH_ROUNDS the size. Each area first converges the guests once (untimed), then its no-op runs are timed,
each right after a ping run. Besides the wall-clock ratio (best of the rounds) it prints the CPU ratio: the
CPU time of the playbook's processes (controller, workers, modules; libvirtd's is not in it), median of the
rounds, which a busy machine disturbs less.

BENCH_COMPARE=/tmp/before (a tree with ansible_collections/virtuned/libvirt in it, e.g. an older commit's
git archive) also runs each area's no-op with that collection, in the same rounds, right after this
tree's: a before/after under the same load.

The playbooks run without PYTHONDONTWRITEBYTECODE (make exports it for the repository's sake): on a
managed host the controller's environment does not reach the module, so modules may keep their bytecode
cache there (module_utils/compile_once.py).
"""

import os
import re
import resource
import statistics
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
COMPARE = os.environ.get("BENCH_COMPARE")
GUEST = """<domain type='kvm'><name>{prefix}{i}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os>
<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>kvm64</model></cpu>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"""


def playbook(mode, expect_changed=False, collections=None):
    """(wall seconds, CPU seconds of the playbook's processes) of one run of converge.yml."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"),
               ANSIBLE_PYTHON_INTERPRETER=os.environ.get("ANSIBLE_PYTHON_INTERPRETER", sys.executable))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if collections:
        env["ANSIBLE_COLLECTIONS_PATH"] = collections
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
           os.path.join(ROOT, "tests", "bench", "converge.yml"), "-e", "bench_mode=%s bench_count=%d bench_prefix=%s" % (mode, COUNT, PREFIX)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"), check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    found = re.search(r"changed=(\d+)", proc.stdout)
    changed = int(found.group(1)) if found else -1
    if proc.returncode != 0 or (not expect_changed and changed != 0):
        raise SystemExit("bench playbook (%s) failed or changed something:\n%s%s" % (
            mode, proc.stdout[-3000:], proc.stderr[-2000:]))
    return elapsed, cpu


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
            playbook(area)  # and once more untimed: a module's first run fills its bytecode cache
        # each area's no-op runs right after a ping over the same loop, so that a change in the host's load
        # between areas does not end up in their ratios
        sides = ["this"] + (["before"] if COMPARE else [])
        ping = dict((area, []) for area in areas)
        tune = dict(((area, side), []) for area in areas for side in sides)
        for _round in range(ROUNDS):
            for area in areas:
                ping[area].append(playbook("ping"))
                for side in sides:
                    tune[area, side].append(playbook(area, collections=COMPARE if side == "before" else None))
        print("bench converge: no-op converge over %d defined guests, best of %d rounds (CPU: median), each after "
              "its own ping; load average %.1f" % (COUNT, ROUNDS, os.getloadavg()[0]))
        for area in areas:
            best_ping = min(run[0] for run in ping[area])
            for side in sides:
                runs = tune[area, side]
                best = min(run[0] for run in runs)
                cpu_ratio = statistics.median(run[1] / base[1] for run, base in zip(runs, ping[area]))
                label = area if side == "this" else area + " (before)"
                print("  %-25s no-op %6.2f s  (%.1f ms/item)   ping %6.2f s   %.2f x ping   CPU %.2f x ping" % (
                    label, best, 1000 * best / COUNT, best_ping, best / best_ping, cpu_ratio))
                suffix = "" if side == "this" else " (BENCH_COMPARE)"
                record("converge", "%s no-op, %d guests / ping%s" % (area, COUNT, suffix), best / best_ping)
                record("converge", "%s no-op CPU, %d guests / ping%s" % (area, COUNT, suffix), cpu_ratio)
    finally:
        for name in names:
            try:
                conn.lookupByName(name).undefine()
            except libvirt.libvirtError:
                pass
        conn.close()


if __name__ == "__main__":
    main()
