"""Fuzz test: every option of every module, arbitrary values, no traceback, bounded work (issue 9, item 6).

The option tree of each module is read from its own argument spec (AnsibleModule is stopped at
construction), so a new option is fuzzed without touching this file. Values are mostly of the
option's type and near its edges (huge numbers, 5000-digit numbers, control characters, empty
strings) and sometimes arbitrary JSON-ish junk (wrong types, nested lists and dicts).

Modules run in-process: the area modules offline (``xml:``) or on the libvirt test driver
(test:///default, a domain of our own), host modules on fake sysfs/proc trees under tmp, nothing
runs a command (run_command is stubbed). Each example must end in a result or in ``failed`` with a
clear ``msg``: no traceback, no exception class name in the message, no "MODULE FAILURE", within
MAX_SECONDS and without growing the process by more than MAX_GROWTH_MIB; a URI password never
appears in the output.

VIRTUNED_FUZZ_EXAMPLES: examples per module (default 150); VIRTUNED_FINDINGS: a directory where
the findings are written as fuzz.md.
"""

import builtins
import contextlib
import importlib
import io
import json
import os
import re
import resource
import signal
import time
import traceback

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conftest import ROOT, fixture_text

import fakehost

EXAMPLES = int(os.environ.get("VIRTUNED_FUZZ_EXAMPLES", "150"))
MAX_SECONDS = 3.0
MAX_GROWTH_MIB = 256
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                 if name.endswith(".py") and not name.startswith("_"))
BASE_XML = fixture_text("guest-minimal.xml")
TEST_DOMAIN = "vt-h2-fuzz"
SECRET = "PWzq7"  # every fuzzed URI password starts with it

EXCEPTION_NAMES = sorted({name for name, obj in vars(builtins).items()
                          if isinstance(obj, type) and issubclass(obj, BaseException)} |
                         {"libvirtError", "XMLSyntaxError", "ParserError", "etree"})
EXCEPTION_RE = re.compile(r"\b(%s)\b" % "|".join(re.escape(name) for name in EXCEPTION_NAMES))


# --------------------------------------------------------------------------- the modules' argument specs

class _Captured(Exception):
    pass


def argument_spec(module):
    """The module's own argument spec (its AnsibleModule construction, stopped)."""
    from ansible.module_utils.basic import AnsibleModule
    from ansible.module_utils.testing import patch_module_args

    mod = importlib.import_module("ansible_collections.virtuned.libvirt.plugins.modules.%s" % module)
    original = AnsibleModule.__init__

    def capture(self, *args, **kwargs):
        raise _Captured(kwargs.get("argument_spec", args[0] if args else None))
    AnsibleModule.__init__ = capture
    try:
        with patch_module_args({}), pytest.raises(_Captured) as caught:
            mod.main()
    finally:
        AnsibleModule.__init__ = original
    spec = caught.value.args[0]
    if module == "domain_tuning":
        # its area options are dicts checked against each area module's own spec: fuzz inside them too
        from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
        spec = dict(spec)
        for name, area in AREAS.items():
            if name in spec:
                spec[name] = dict(spec[name], options=area.argspec())
    return spec


# --------------------------------------------------------------------------- values

HUGE_DIGITS = "9" * 5000
CONTROL = st.text(alphabet=st.characters(codec="utf-8", max_codepoint=0x1f), min_size=1, max_size=5)
TEXT = st.one_of(
    st.text(max_size=30),
    st.builds(lambda a, c, b: a + c + b, st.sampled_from(["", "x", "/boot/vmlinuz", "kvm64", "1G", "0-1"]), CONTROL,
              st.sampled_from(["", "y", "0"])),
    st.sampled_from(["", " ", "0", "-1", "1G", "512 MiB", "unlimited", "0-1", "^0", "1-0", "0-1,", "16E", "1.5G",
                     "NaN", "inf", "yes", "no", "null", "None", HUGE_DIGITS, "1" + "0" * 400 + "K", "0-" + HUGE_DIGITS,
                     HUGE_DIGITS + "G", "x" * 70000, "<a/>", "&amp;", "]]>", "\x00", "\ud800".encode(
                         "utf-8", "surrogatepass").decode("utf-8", "replace")]),
)
INTS = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 63, 2 ** 64, 10 ** 18, 1000000, 100000000,
                     10 ** 4000, -10 ** 4000]),
    st.sampled_from(["1", "0x10", " 2 ", HUGE_DIGITS, "-" + HUGE_DIGITS, "1e3", "1.0"]),
)
FLOATS = st.floats(allow_nan=False)
JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), INTS, FLOATS, TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _typed(spec):
    """A value of the option's own type (or near it)."""
    kind = spec.get("type", "str")
    if spec.get("choices"):
        if kind == "list":
            return st.lists(st.sampled_from(spec["choices"]), max_size=5)
        return st.sampled_from(spec["choices"])
    if kind == "int":
        return INTS
    if kind == "bool":
        return st.one_of(st.booleans(), st.sampled_from(["yes", "no", "on", "maybe", 2, ""]))
    if kind == "float":
        return FLOATS
    if kind == "dict":
        if spec.get("options"):
            return options_strategy(spec["options"])
        return st.dictionaries(st.text(max_size=10), JUNK, max_size=4)
    if kind == "list":
        elements = spec.get("elements", "str")
        if elements == "dict" and spec.get("options"):
            return st.lists(options_strategy(spec["options"]), max_size=4)
        return st.lists(_typed({"type": elements}), max_size=5)
    if kind == "raw":
        return st.one_of(TEXT, INTS)
    return TEXT


def value_strategy(spec):
    """Mostly the option's type, sometimes anything."""
    return st.one_of(_typed(spec), _typed(spec), _typed(spec), JUNK)


def options_strategy(spec, skip=()):
    """Any subset of the options in ``spec``, each with a fuzzed value."""
    optional = {name: value_strategy(sub) for name, sub in spec.items() if name not in skip}
    return st.fixed_dictionaries({}, optional=optional)


# --------------------------------------------------------------------------- what each module runs on

AREA_COMMON = {"name", "uuid", "xml", "uri", "backup_dir"}
XML_VARIANTS = {
    "guest-minimal.xml": BASE_XML,
    "guest-minimal.xml with <iothreads>100000000</iothreads>":
        BASE_XML.replace("<iothreads>2</iothreads>", "<iothreads>100000000</iothreads>"),
    "guest-minimal.xml with a 5000-digit <iothreads>":
        BASE_XML.replace("<iothreads>2</iothreads>", "<iothreads>%s</iothreads>" % HUGE_DIGITS),
    "guest-minimal.xml with <vcpu>100000000</vcpu>":
        BASE_XML.replace("current='2'>4</vcpu>", "current='2'>100000000</vcpu>"),
    "guest-minimal.xml with a 5000-digit <memory>":
        BASE_XML.replace("<memory unit='MiB'>128</memory>", "<memory unit='MiB'>%s</memory>" % HUGE_DIGITS),
    "guest-minimal.xml with <memory>-1</memory>":
        BASE_XML.replace("<memory unit='MiB'>128</memory>", "<memory unit='MiB'>-1</memory>"),
    "guest-minimal.xml with <memory unit='bogus'>":
        BASE_XML.replace("<memory unit='MiB'>128</memory>", "<memory unit='bogus'>128</memory>"),
    "guest-minimal.xml with an external entity in <name>":
        "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>" + BASE_XML.replace("vt-probe", "&x;"),
    "guest-minimal.xml with a NUMA cell of cpus 0-<5000 digits>":
        BASE_XML.replace("<cpu mode='custom' match='exact' check='none'>",
                         "<cpu mode='custom'><numa><cell cpus='0-%s' memory='1'/></numa>" % HUGE_DIGITS, 1),
    "the first half of guest-minimal.xml": BASE_XML[:len(BASE_XML) // 2],
    "an empty string": "",
    "guest-minimal.xml with a vcpupin of a 5000-digit vcpu":
        BASE_XML.replace("<domain type='kvm'>", "<domain type='kvm'><cputune><vcpupin vcpu='%s' cpuset='0'/>"
                         "</cputune>" % HUGE_DIGITS),
    "guest-minimal.xml with maxMemory and a DIMM of 5000-digit size":
        BASE_XML.replace("<domain type='kvm'>", "<domain type='kvm'><maxMemory slots='4' unit='GiB'>1</maxMemory>"
                         "<devices><memory model='dimm'><target><size unit='KiB'>%s</size></target></memory>"
                         "</devices>" % HUGE_DIGITS),
}
VARIANT_NAMES = {xml: name for name, xml in XML_VARIANTS.items()}
XML_STRATEGY = st.sampled_from(sorted(XML_VARIANTS.values()))


def uri_strategy():
    """URIs with a password (starting with SECRET) full of the characters that break URI parsing."""
    password = st.builds(lambda tail: SECRET + tail, st.text(alphabet="@/:?#%[]! a9", max_size=8))
    return st.builds(lambda pw, path: "bogus+unix://fuzzer:%s@/%s" % (pw, path), password,
                     st.sampled_from(["", "system", "default?socket=/nonexistent"]))


def fixed_arguments(module, spec, where):
    """Strategy for the arguments we do not fuzz freely (connection, paths), per module."""
    names = set(spec)
    if "state" in names and "xml" in names:  # an area module or domain_tuning
        offline = st.fixed_dictionaries({"xml": XML_STRATEGY})
        connected = st.fixed_dictionaries({"name": st.just(TEST_DOMAIN), "uri": st.just("test:///default")})
        return st.one_of(offline, offline, connected,
                         st.fixed_dictionaries({"uuid": TEXT, "uri": st.just("test:///default")}),
                         st.fixed_dictionaries({"name": st.just(TEST_DOMAIN), "uri": uri_strategy()})).map(
            lambda args: dict(args, backup_dir=where["backups"]))
    if module == "tuning_info":
        return st.one_of(st.fixed_dictionaries({"xml": XML_STRATEGY}),
                         st.fixed_dictionaries({"name": st.just(TEST_DOMAIN), "uri": st.just("test:///default")}),
                         st.fixed_dictionaries({"names": st.lists(st.sampled_from([TEST_DOMAIN, "absent", ""]),
                                                                  max_size=3),
                                                "uri": st.just("test:///default")}),
                         st.fixed_dictionaries({"name": st.just(TEST_DOMAIN), "uri": uri_strategy()}))
    if module == "host_info":
        return st.fixed_dictionaries({"uri": st.one_of(st.just("test:///default"), uri_strategy()),
                                      "sysfs_root": st.just(where["sys"]), "proc_root": st.just(where["proc"])},
                                     optional={"capabilities_xml": st.one_of(st.just(where["capabilities"]), TEXT)})
    if module == "hugepage_pools":
        return st.fixed_dictionaries({"sysfs_root": st.just(where["sys"]), "proc_root": st.just(where["proc"]),
                                      "timeout": st.sampled_from([0, 1])})
    if module == "kernel_cmdline":
        return st.fixed_dictionaries({"root": st.just(where["root"])})
    if module in ("numa_plan", "guest_placements_info"):
        args = {"uri": st.one_of(st.just("test:///default"), uri_strategy())}
        if module == "numa_plan":
            args["host"] = st.one_of(st.just(where["host"]), value_strategy({"type": "dict"}))
        return st.fixed_dictionaries(args)
    if module == "fleet_plan":  # pure: the hosts are the fixture host, or fuzzed as a whole
        return st.fixed_dictionaries({"hosts": st.one_of(st.just({"hv1": {"host": where["host"]}}),
                                                         value_strategy({"type": "dict"}))})
    raise AssertionError("no fixed arguments for module %s: add it to fixed_arguments()" % module)


FIXED = {"sysfs_root", "proc_root", "root", "backup_dir", "uri", "name", "xml", "uuid", "names", "host",
         "capabilities_xml", "timeout", "hosts"}


# --------------------------------------------------------------------------- one run

class _TooSlow(BaseException):
    pass


def _alarm(signum, frame):
    raise _TooSlow()


def _rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_fuzzed(module, args, check):
    """(kind of finding or None, detail, result) for one in-process module run."""
    from ansible.module_utils.common import warnings as ansible_warnings
    from ansible.module_utils.testing import patch_module_args

    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
    mod = importlib.import_module("ansible_collections.virtuned.libvirt.plugins.modules.%s" % module)
    full = dict(args, _ansible_check_mode=check, _ansible_diff=True)
    out = io.StringIO()
    started, rss = time.monotonic(), _rss_mib()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, MAX_SECONDS)
    try:
        with patch_module_args(full), contextlib.redirect_stdout(out):
            mod.main()
        return "no exit", "main() returned without exit_json/fail_json", None
    except SystemExit:
        pass
    except _TooSlow:
        return "too slow", "still running after %.0f s" % MAX_SECONDS, None
    except MemoryError:
        return "memory", "MemoryError (over the address-space limit)", None
    except Exception as exc:  # noqa: B902 - a traceback is the finding
        return "traceback", "%s (at %s)" % ("".join(traceback.format_exception_only(type(exc), exc)).strip()[:300],
                                            _where(exc)), None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    elapsed, growth = time.monotonic() - started, _rss_mib() - rss
    text = out.getvalue()
    try:
        result = json.loads(text)
    except ValueError:
        return "no JSON", text[:300], None
    if growth > MAX_GROWTH_MIB:
        return "memory", "the process grew by %.0f MiB" % growth, result
    if SECRET in text:
        places = sorted(key for key, value in result.items() if SECRET in json.dumps(value))
        return "secret shown", "the URI password appears in the result's %s" % ", ".join(places), result
    if result.get("failed"):
        msg = result.get("msg")
        if not isinstance(msg, str) or not msg.strip():
            return "no message", repr(msg)[:200], result
        if "Traceback" in msg or "MODULE FAILURE" in msg or "exception" in result:
            return "traceback in result", msg[:300], result
        named = EXCEPTION_RE.search(msg)
        if named:
            return "exception name in msg", msg[:300], result
    elif "changed" not in result:
        return "no changed", text[:200], result
    return None, "%.2f s" % elapsed, result


def _where(exc):
    """The innermost frame, and the innermost frame in this collection when that is another file."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/plugins/" in f.filename]
    shown = ["%s:%d %s" % (os.path.relpath(f.filename, ROOT) if f.filename.startswith(ROOT) else
                           f.filename.split("site-packages/")[-1], f.lineno, f.name)
             for f in ([frames[-1]] + ([ours[-1]] if ours and ours[-1] is not frames[-1] else []))]
    return " < ".join(shown)


def _pattern(text):
    """The finding's text with its values blanked; for a traceback, its exception and where it was raised."""
    text = str(text)
    where = re.search(r" \(at (.*)\)$", text)
    if where:
        text = "%s at %s" % (text.split(":", maxsplit=1)[0], where.group(1))
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    return re.sub(r"\d+", "N", text)[:200]


def _smaller(value):
    if isinstance(value, dict):
        for key in list(value):
            yield {k: v for k, v in value.items() if k != key}
        for key in list(value):
            for sub in _smaller(value[key]):
                yield dict(value, **{key: sub})
    elif isinstance(value, list):
        for index in range(len(value)):
            yield value[:index] + value[index + 1:]
        for index in range(len(value)):
            for sub in _smaller(value[index]):
                yield value[:index] + [sub] + value[index + 1:]
    elif isinstance(value, str) and len(value) > 1:
        yield value[:len(value) // 2]
        yield value[len(value) // 2:]


def shrink(options, still, budget=60):
    tries, progress = 0, True
    while progress and tries < budget:
        progress = False
        for candidate in _smaller(options):
            tries += 1
            if still(candidate):
                options, progress = candidate, True
                break
            if tries >= budget:
                break
    return options


# --------------------------------------------------------------------------- the test

FINDINGS = {}
STATS = {"examples": 0, "seconds": 0.0}


@pytest.fixture(scope="module")
def where(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz")
    spec = fakehost.HOSTS["adjacent"]
    sysfs = fakehost.write_sysfs(spec, str(base / "sys"))
    for size in (2048, 1048576):
        pool = os.path.join(sysfs, "kernel", "mm", "hugepages", "hugepages-%dkB" % size)
        os.makedirs(pool, exist_ok=True)
        for name in ("nr_hugepages", "free_hugepages", "surplus_hugepages"):
            with open(os.path.join(pool, name), "w") as handle:
                handle.write("0\n")
    proc = fakehost.write_proc(spec, str(base / "proc"))
    root = base / "root"
    (root / "etc" / "default" / "grub.d").mkdir(parents=True)
    (root / "etc" / "default" / "grub").write_text('GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n')
    (root / "proc").mkdir()
    (root / "proc" / "cmdline").write_text("ro quiet\n")
    from ansible_collections.virtuned.libvirt.plugins.module_utils.host.facts import read_host
    host = read_host(uri="test:///default", capabilities_xml=fakehost.load_capabilities("adjacent"),
                     sysfs_root=sysfs, proc_root=proc)
    # fuzzed relative paths (dest, backup_dir) land in this scratch folder, never in the checkout
    scratch = base / "cwd"
    scratch.mkdir()
    before = os.getcwd()
    os.chdir(str(scratch))
    yield {"sys": sysfs, "proc": proc, "root": str(root), "backups": str(base / "backups"),
           "capabilities": fakehost.load_capabilities("adjacent"), "host": host}
    os.chdir(before)


@pytest.fixture(scope="module")
def test_domain():
    """A domain of our own on the per-process test driver (the other tests use the driver's own)."""
    libvirt = pytest.importorskip("libvirt")
    conn = libvirt.open("test:///default")
    xml = fixture_text("guest-testdriver.xml") if os.path.exists(os.path.join(ROOT, "tests", "fixtures",
                                                                              "guest-testdriver.xml")) else BASE_XML
    xml = re.sub(r"<name>[^<]*</name>", "<name>%s</name>" % TEST_DOMAIN, xml, count=1)
    xml = re.sub(r"<uuid>[^<]*</uuid>", "", xml)
    dom = conn.defineXML(xml)
    yield dom
    with contextlib.suppress(libvirt.libvirtError):
        if dom.isActive():
            dom.destroy()
        dom.undefine()
    conn.close()


@pytest.fixture(scope="module")
def bounded_process():
    """Address space capped for the fuzzing (a runaway allocation is a MemoryError, not a dead host),
    and no command run by any module."""
    from ansible.module_utils.basic import AnsibleModule
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as handle:
        vm_bytes = int(handle.read().split()[0]) * resource.getpagesize()
    limit = vm_bytes + 2 * 1024 ** 3
    if hard == resource.RLIM_INFINITY or hard > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    original = AnsibleModule.run_command
    AnsibleModule.run_command = lambda self, args, **kwargs: (127, "", "commands are not run while fuzzing")
    yield
    AnsibleModule.run_command = original
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    _write_findings()


@pytest.mark.parametrize("module", MODULES)
def test_fuzzed_options_end_in_a_result_or_a_clear_failure(module, where, test_domain, bounded_process, capsys):
    spec = argument_spec(module)
    assert spec, "%s has an argument spec" % module
    fuzzed = options_strategy(spec, skip=FIXED)
    fixed = fixed_arguments(module, spec, where)
    started = time.monotonic()
    found = {}
    count = [0]

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(options=fuzzed, base=fixed, check=st.booleans())
    def examples(options, base, check):
        count[0] += 1
        args = dict(base, **options)
        kind, detail, _result = run_fuzzed(module, args, check)
        if kind is None:
            return
        key = "%s | %s | %s" % (module, kind, _pattern(detail))
        if key in found:
            found[key]["count"] += 1
            return

        def still(candidate):
            again = run_fuzzed(module, dict(base, **candidate), check)
            return again[0] is not None and "%s | %s | %s" % (module, again[0], _pattern(again[1])) == key
        # a slow case is shrunk a little only: each try may take MAX_SECONDS
        small = shrink(options, still, budget=4 if kind in ("too slow", "memory") else 60)
        shown = {k: (VARIANT_NAMES.get(v, v) if k == "xml" else v) for k, v in base.items()}
        found[key] = {"count": 1, "options": small, "base": shown,
                      "check": check, "detail": run_fuzzed(module, dict(base, **small), check)[1]}
        FINDINGS[key] = found[key]
        _write_findings()

    examples()
    elapsed = time.monotonic() - started
    STATS["examples"] += count[0]
    STATS["seconds"] += elapsed
    with capsys.disabled():
        print("\nfuzz %s: %d examples in %.1f s, %d findings (%d kinds); all modules so far: %d examples, %.1f s"
              % (module, count[0], elapsed, sum(f["count"] for f in found.values()), len(found),
                 STATS["examples"], STATS["seconds"]))
    assert {key: (entry["options"], entry["detail"]) for key, entry in found.items()} == {}


# --------------------------------------------------------------------------- every option, the nastiest values

NASTY = {
    "int": [1000000, 100000000, HUGE_DIGITS, -1],
    "str": [HUGE_DIGITS, "x\x01y", "", "0-" + HUGE_DIGITS, "\x00"],
    "raw": [HUGE_DIGITS, "x\x01y", "", "0-" + HUGE_DIGITS, 100000000],
    "bool": ["maybe"],
    "path": [],
}


def _filler(spec):
    """A plain value for a required sibling, so that the option under test is reached."""
    kind = spec.get("type", "str")
    if spec.get("choices"):
        return spec["choices"][0] if kind != "list" else [spec["choices"][0]]
    return {"int": 0, "bool": False, "list": [], "dict": {}}.get(kind, "0")


def leaf_cases(spec, skip=()):
    """(path text, arguments) setting one option (at any depth) to a nasty value, its required siblings filled."""
    for name, sub in spec.items():
        if name in skip:
            continue
        kind = sub.get("type", "str")
        wrapped = []
        if sub.get("options"):
            inner_spec = sub["options"]
            for path, inner in leaf_cases(inner_spec):
                base = {key: _filler(val) for key, val in inner_spec.items() if val.get("required") and key not in inner}
                value = dict(base, **inner)
                wrapped.append(("%s.%s" % (name, path), [value] if kind == "list" else value))
            wrapped += [(name + " (scalar)", 5), (name + " (list of scalars)", [5]), (name + " (text)", "x\x01")]
        elif kind == "list":
            element = sub.get("elements", "str")
            wrapped += [("%s[]" % name, [value]) for value in NASTY.get(element, [])]
            wrapped += [(name + " (dict)", {"a": 1})]
        elif sub.get("choices"):
            wrapped += [(name, "x\x01"), (name, HUGE_DIGITS)]
        else:
            wrapped += [(name, value) for value in NASTY.get(kind, NASTY["str"])]
        for path, value in wrapped:
            yield path, {name: value}


def default_base(module, spec, where):
    if "state" in spec and "xml" in spec:
        return {"xml": BASE_XML, "backup_dir": where["backups"]}
    return {
        "tuning_info": {"xml": BASE_XML},
        "host_info": {"uri": "test:///default", "sysfs_root": where["sys"], "proc_root": where["proc"],
                      "capabilities_xml": where["capabilities"]},
        "hugepage_pools": {"sysfs_root": where["sys"], "proc_root": where["proc"], "timeout": 0},
        "kernel_cmdline": {"root": where["root"], "name": "fuzz"},
        "numa_plan": {"uri": "test:///default", "host": where["host"], "guests": []},
        "guest_placements_info": {"uri": "test:///default"},
        "fleet_plan": {"hosts": {"hv1": {"host": where["host"]}}, "guests": []},
    }[module]


@pytest.mark.parametrize("module", MODULES)
def test_every_option_refuses_its_nastiest_values_cleanly(module, where, test_domain, bounded_process, capsys):
    """Each option alone (nested ones inside a minimal parent): huge and 5000-digit numbers, control
    characters, wrong shapes. Deterministic, so the known slow and traceback cases are always tried."""
    spec = argument_spec(module)
    base = default_base(module, spec, where)
    started = time.monotonic()
    found = {}
    cases = list(leaf_cases(spec, skip=FIXED - {"name", "names", "capabilities_xml", "timeout", "hosts"} | {"xml"}))
    for path, options in cases:
        args = dict(base, **options)
        kind, detail, _result = run_fuzzed(module, args, False)
        if kind is None:
            continue
        key = "%s | %s | %s" % (module, kind, _pattern(detail))
        if key in found:
            found[key]["count"] += 1
            continue
        found[key] = FINDINGS["sweep " + key] = {
            "count": 1, "options": options, "base": {k: (VARIANT_NAMES.get(v, v) if k == "xml" else v)
                                                     for k, v in base.items()},
            "check": False, "detail": "%s (option %s)" % (detail, path)}
    _write_findings()
    elapsed = time.monotonic() - started
    STATS["examples"] += len(cases)
    STATS["seconds"] += elapsed
    with capsys.disabled():
        print("\nfuzz sweep %s: %d option values in %.1f s, %d findings (%d kinds)"
              % (module, len(cases), elapsed, sum(f["count"] for f in found.values()), len(found)))
    assert {key: (entry["options"], entry["detail"]) for key, entry in found.items()} == {}


def _write_findings():
    directory = os.environ.get("VIRTUNED_FINDINGS")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    lines = ["# Fuzz test findings (tests/unit/plugins/modules/test_fuzz.py)", "",
             "Written by the test as it runs: one section per kind of finding (module, kind, message with values",
             "blanked), the generated options shrunk to the smallest that still show it. `base` is what the test",
             "fixed (offline XML, the test driver, fake /sys trees); `check` is check mode.", "",
             "Examples so far: %d in %.0f s; findings: %d kinds" % (STATS["examples"], STATS["seconds"], len(FINDINGS)),
             ""]
    for key in sorted(FINDINGS):
        entry = FINDINGS[key]
        module, kind = key.split(" | ")[:2]
        if module.startswith("sweep "):
            module, kind = module[len("sweep "):], "%s (one option at a time)" % kind
        lines += ["## %s: %s (%d examples)" % (module, kind, entry["count"]), "",
                  "- options: `%s`" % json.dumps(entry["options"], sort_keys=True, default=str)[:1500],
                  "- base: `%s`, check mode: %s" % (
                      json.dumps(entry["base"], sort_keys=True, default=str)[:600], entry["check"]),
                  "- what happened: %s" % entry["detail"], ""]
    with open(os.path.join(directory, "fuzz.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
