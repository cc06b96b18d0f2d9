"""make bench: tuning_info over 100 defined guests, 20 of them running, on qemu:///system (aim < 2 s).

Prints the module's own time (in-process, the module as Ansible runs it, without the transport) and
an ansible-playbook task's time, best of a few rounds, and the same with effective: true. The 20
running guests are tiny (64 MiB, one vCPU, no disk: they sit in the firmware), started nice'd,
and every guest is destroyed and undefined at the end, also on failure.
"""

import contextlib
import io
import json
import os
import subprocess
import sys
import time

import libvirt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# BENCH_COLLECTIONS: another collection tree to measure (an older commit's, for a before/after)
COLLECTIONS = os.environ.get("BENCH_COLLECTIONS", os.path.join(ROOT, ".build", "collections"))
sys.path.insert(0, COLLECTIONS)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ratios import record  # noqa: E402  pylint: disable=wrong-import-position
COUNT = int(os.environ.get("BENCH_GUESTS", "100"))
RUNNING = int(os.environ.get("BENCH_RUNNING", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PREFIX = os.environ.get("BENCH_PREFIX", "vt-bench-") + "ti-"
GUEST = """<domain type='kvm'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os>
<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>kvm64</model></cpu>
<cputune><vcpupin vcpu='0' cpuset='1'/><emulatorpin cpuset='0'/></cputune>
<memtune><soft_limit unit='MiB'>512</soft_limit></memtune>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"""


def run_module(args):
    """The module run in this process, as Ansible runs it; returns (seconds, result)."""
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.virtuned.libvirt.plugins.modules import tuning_info

    out = io.StringIO()
    start = time.perf_counter()
    with patch_module_args(dict(args)), contextlib.redirect_stdout(out):
        try:
            tuning_info.main()
        except SystemExit:
            pass
    elapsed = time.perf_counter() - start
    result = json.loads(out.getvalue())
    if result.get("failed") and "Unsupported parameters" in result.get("msg", "") and "effective" in args:
        return elapsed, None  # a collection from before effective: true
    if result.get("failed"):
        raise SystemExit("tuning_info failed: %s" % result.get("msg"))
    return elapsed, result


def ansible_env():
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"),
                ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                ANSIBLE_COLLECTIONS_PATH=COLLECTIONS)


def playbook(names, effective):
    env = ansible_env()
    args = {"uri": "qemu:///system", "names": names}
    if effective:
        args["effective"] = True
    play = [{"name": "tuning_info bench", "hosts": "hypervisors", "gather_facts": False,
             "tasks": [{"name": "Report", "virtuned.libvirt.tuning_info": args}]}]
    path = os.path.join(ROOT, ".build", "bench_tuning_info.yml")
    with open(path, "w") as handle:
        json.dump(play, handle)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), path]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"), check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("bench playbook failed:\n%s%s" % (proc.stdout[-3000:], proc.stderr[-2000:]))
    return elapsed


def ping():
    env = ansible_env()
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible"), "hypervisors", "-m", "ansible.builtin.ping"]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"), check=True)
    return time.perf_counter() - start


def cleanup(conn, names):
    for name in names:
        with contextlib.suppress(libvirt.libvirtError):
            dom = conn.lookupByName(name)
            if dom.isActive():
                dom.destroy()
            dom.undefine()


def measure(names):
    """--measure: this process's best of two module runs, plain and with effective: true, as JSON."""
    args = {"uri": "qemu:///system", "names": names}
    plain = min(run_module(args)[0] for _run in range(2))
    timed = [run_module(dict(args, effective=True)) for _run in range(2)]
    effective = None if timed[0][1] is None else min(elapsed for elapsed, _result in timed)
    print(json.dumps({"plain": plain, "effective": effective}))


def compare(trees, names):
    """The module of each collection tree, rounds interleaved (tree A, tree B, A, B, ...), each in a fresh process."""
    best = {tree: {"plain": [], "effective": []} for tree in trees}
    for _round in range(ROUNDS):
        for tree in trees:
            env = dict(os.environ, BENCH_COLLECTIONS=tree, BENCH_NAMES=json.dumps(names))
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--measure"], env=env,
                                  capture_output=True, text=True, check=True)
            found = json.loads(proc.stdout.strip().splitlines()[-1])
            for key in ("plain", "effective"):
                if found[key] is not None:
                    best[tree][key].append(found[key])
    print("  module (in-process), rounds interleaved between collection trees:")
    for tree in trees:
        plain, effective = best[tree]["plain"], best[tree]["effective"]
        print("    %-44s %.2f s%s" % (tree, min(plain), ("   effective: true %.2f s" % min(effective)) if effective else ""))


def main():
    if sys.argv[1:] == ["--measure"]:
        measure(json.loads(os.environ["BENCH_NAMES"]))
        return
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open("qemu:///system")
    names = ["%s%03d" % (PREFIX, i) for i in range(COUNT)]
    cleanup(conn, names)
    try:
        for name in names:
            conn.defineXML(GUEST.format(name=name))
        for name in names[:RUNNING]:
            conn.lookupByName(name).create()
            os.system("renice -n 19 -p %d >/dev/null 2>&1" % int(open("/run/libvirt/qemu/%s.pid" % name).read()))
        args = {"uri": "qemu:///system", "names": names}
        if os.environ.get("BENCH_PROFILE"):  # where the time goes, by function
            import cProfile
            import pstats
            profile = cProfile.Profile()
            profile.runcall(run_module, dict(args, effective=os.environ["BENCH_PROFILE"] == "effective"))
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
            return
        print("bench tuning_info: %d defined guests, %d running, best of %d rounds" % (COUNT, RUNNING, ROUNDS))
        if os.environ.get("BENCH_COMPARE"):  # before/after: BENCH_COMPARE=/tmp/old-tree (this tree is added)
            compare(os.environ["BENCH_COMPARE"].split(",") + [os.path.join(ROOT, ".build", "collections")], names)
        figures = {}
        for label, effective in (("module (in-process)", False), ("module, effective: true", True)):
            runs = []
            for _round in range(ROUNDS):
                elapsed, result = run_module(dict(args, effective=True) if effective else args)
                runs.append(elapsed)
            if result is None:
                print("  %-36s (not in this collection)" % label)
                continue
            running = sum(1 for guest in result["guests"] if guest["running"])
            if len(result["guests"]) != COUNT or running != RUNNING:
                raise SystemExit("tuning_info reported %d guests, %d running; expected %d, %d"
                                 % (len(result["guests"]), running, COUNT, RUNNING))
            figures[label] = min(runs)
            print("  %-36s %.2f s  (%.1f ms/guest; aim < 2 s)" % (label, figures[label], 1000 * figures[label] / COUNT))
            record("tuning_info", "%s, %d guests (%d running)" % (label, COUNT, RUNNING), figures[label], "s")
            sys.stdout.flush()
        task = min(playbook(names, False) for _round in range(ROUNDS))
        pings = min(ping() for _round in range(ROUNDS))
        print("  %-36s %.2f s" % ("ansible-playbook, one task", task))
        print("  %-36s %.2f s" % ("ansible ping, one host", pings))
        print("  %-36s %.2f" % ("ratio tuning_info task / ping", task / pings))
        record("tuning_info", "ansible-playbook task, %d guests / ansible ping" % COUNT, task / pings)
    finally:
        cleanup(conn, names)
        conn.close()


if __name__ == "__main__":
    main()
