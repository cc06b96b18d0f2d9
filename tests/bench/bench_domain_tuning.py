"""make bench: converge 30 defined guests in five areas with domain_tuning (one call per guest), with the area
modules (one call per area per guest), and ansible.builtin.ping over 30 items; seconds and ratios."""

import os
import re
import subprocess
import sys
import time

import libvirt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ratios import record  # noqa: E402  pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COUNT = int(os.environ.get("BENCH_GUESTS", "30"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))
PREFIX = os.environ.get("BENCH_PREFIX", "vt-bench-") + "dt-"
AREAS = 5  # vcpus, cpu_model, numa, cputune, memtune (tests/bench/domain_tuning.yml)
GUEST = """<domain type='kvm'><name>{prefix}{i}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os>
<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>kvm64</model></cpu>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"""


def playbook(mode, expect_changed):
    """Seconds for one run; checks that it changed every guest (a converge) or nothing (a re-run)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
           os.path.join(ROOT, "tests", "bench", "domain_tuning.yml"), "-e", "bench_mode=%s bench_count=%d bench_prefix=%s" % (mode, COUNT, PREFIX)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"), check=False)
    elapsed = time.perf_counter() - start
    found = re.search(r"changed=(\d+)", proc.stdout)
    changed = int(found.group(1)) if found else -1
    if proc.returncode != 0 or (changed > 0) != expect_changed:
        raise SystemExit("bench playbook (%s) failed or changed %s:\n%s%s" % (
            mode, "nothing" if expect_changed else "something", proc.stdout[-4000:], proc.stderr[-2000:]))
    return elapsed


def define_fresh(conn):
    """(Re)define the guests untuned, keeping their uuids."""
    for i in range(COUNT):
        xml = GUEST.format(prefix=PREFIX, i=i)
        try:
            uuid = conn.lookupByName("%s%d" % (PREFIX, i)).UUIDString()
            xml = xml.replace("</name>", "</name><uuid>%s</uuid>" % uuid, 1)
        except libvirt.libvirtError:
            pass
        conn.defineXML(xml)


def main():
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # lookups of guests not there yet are expected
    conn = libvirt.open("qemu:///system")
    names = ["%s%d" % (PREFIX, i) for i in range(COUNT)]
    runs = {"ping": [], "domain_tuning": [], "domain_tuning no-op": [], "per_area": [], "per_area no-op": []}
    try:
        define_fresh(conn)
        playbook("ping", False)  # warm-up
        for _round in range(ROUNDS):
            runs["ping"].append(playbook("ping", False))
            for mode in ("domain_tuning", "per_area"):
                define_fresh(conn)
                runs[mode].append(playbook(mode, True))
                runs[mode + " no-op"].append(playbook(mode, False))
        best = dict((mode, min(times)) for mode, times in runs.items())
        ping = best["ping"]
        print("bench domain_tuning: %d guests, %d areas each, best of %d rounds" % (COUNT, AREAS, ROUNDS))
        print("  ansible.builtin.ping over %d items          %6.2f s" % (COUNT, ping))
        for mode, calls in (("domain_tuning", COUNT), ("per_area", COUNT * AREAS)):
            for label in (mode, mode + " no-op"):
                print("  %-24s %4d calls        %6.2f s  (%.2f x ping)" % (label, calls, best[label], best[label] / ping))
                record("domain_tuning", "%s, %d guests x %d areas / ping" % (label, COUNT, AREAS), best[label] / ping)
        print("  ratio per_area/domain_tuning: converge %.2f, no-op %.2f" % (
            best["per_area"] / best["domain_tuning"], best["per_area no-op"] / best["domain_tuning no-op"]))
    finally:
        for name in names:
            try:
                conn.lookupByName(name).undefine()
            except libvirt.libvirtError:
                pass
        conn.close()


if __name__ == "__main__":
    main()
