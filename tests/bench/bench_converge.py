"""make bench: a no-op cputune converge over 50 defined guests vs ansible.builtin.ping (ratio; aim <= 1.3)."""

import os
import subprocess
import sys
import time

import libvirt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COUNT = int(os.environ.get("BENCH_GUESTS", "50"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
GUEST = """<domain type='kvm'><name>vt-bench-{i}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os>
<cputune><vcpupin vcpu='0' cpuset='0'/><emulatorpin cpuset='0-1'/></cputune>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"""


def playbook(mode):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
           os.path.join(ROOT, "tests", "bench", "converge.yml"), "-e", "bench_mode=%s bench_count=%d" % (mode, COUNT)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"), check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or "changed=0" not in proc.stdout:
        raise SystemExit("bench playbook (%s) failed or changed something:\n%s%s" % (mode, proc.stdout, proc.stderr))
    return elapsed


def main():
    conn = libvirt.open("qemu:///system")
    names = ["vt-bench-%d" % i for i in range(COUNT)]
    try:
        for i in range(COUNT):
            conn.defineXML(GUEST.format(i=i))
        playbook("cputune")  # warm-up: caches, and the guests are already converged
        ping, tune = [], []
        for _round in range(ROUNDS):
            ping.append(playbook("ping"))
            tune.append(playbook("cputune"))
        best_ping, best_tune = min(ping), min(tune)
        print("bench converge: %d guests, best of %d rounds" % (COUNT, ROUNDS))
        print("  ansible.builtin.ping loop      %.2f s  (%.1f ms/item)" % (best_ping, 1000 * best_ping / COUNT))
        print("  virtuned.libvirt.cputune no-op %.2f s  (%.1f ms/item)" % (best_tune, 1000 * best_tune / COUNT))
        print("  ratio cputune/ping             %.2f  (aim <= 1.30)" % (best_tune / best_ping))
    finally:
        for name in names:
            try:
                conn.lookupByName(name).undefine()
            except libvirt.libvirtError:
                pass
        conn.close()


if __name__ == "__main__":
    main()
