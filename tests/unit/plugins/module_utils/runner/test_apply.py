"""runner/apply.py against a recording stand-in for the libvirt edge: what happens under the lock."""

import contextlib

import pytest

from conftest import fixture_text

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import LibvirtCallError, TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner import apply

BASE = fixture_text("guest-minimal.xml").replace("<name>", "<uuid>6f2a3f4e-1d2c-4b5a-9e8f-0a1b2c3d4e5f</uuid><name>")
CAPS = "<capabilities><host><cpu><pages unit='KiB' size='4'/><pages unit='KiB' size='2048'/></cpu></host></capabilities>"


class FakeDomain:
    def __init__(self, edge):
        self.edge = edge

    def name(self):
        return "vt-fake"

    def UUIDString(self):
        return "6f2a3f4e-1d2c-4b5a-9e8f-0a1b2c3d4e5f"


class FakeEdge:
    """Records each call and whether the domain lock was held; ``xml`` is the persistent definition."""

    instances = []

    def __init__(self, uri=None):
        self.xml, self.locked, self.calls = BASE, False, []
        self.defined, self.persistent = [], True
        self.on_persistent_xml = None
        FakeEdge.instances.append(self)

    def _record(self, name):
        self.calls.append((name, self.locked))

    def lookup(self, name=None, uuid=None):
        self._record("lookup")
        if uuid and not self.persistent:
            raise LibvirtCallError("uuid: no domain")
        return FakeDomain(self)

    def is_persistent(self, dom):
        self._record("is_persistent")
        return self.persistent

    def persistent_xml(self, dom):
        self._record("persistent_xml")
        text = self.xml
        if self.on_persistent_xml:
            self.on_persistent_xml(self)
        return text

    def host_cpus(self):
        self._record("host_cpus")
        return frozenset(range(4))

    def hypervisor(self):
        self._record("hypervisor")
        return "qemu"

    def cpus_and_hypervisor(self):
        return self.host_cpus(), self.hypervisor()

    def capabilities(self):
        self._record("capabilities")
        return CAPS

    def domain_capabilities(self, *args):
        self._record("domain_capabilities")
        raise LibvirtCallError("no domain capabilities here")

    def free_pages(self, size_kib):
        self._record("free_pages")
        return {0: 1000}

    def lib_version(self):
        self._record("lib_version")
        return (9, 0, 0)

    @contextlib.contextmanager
    def domain_lock(self, dom):
        self.locked = True
        try:
            yield
        finally:
            self.locked = False

    def define(self, xml):
        self._record("define")
        self.defined.append(xml)
        self.xml = xml
        return FakeDomain(self)

    def is_defined(self, uuid):
        self._record("is_defined")
        return self.persistent

    def running_xml(self, dom):
        self._record("running_xml")
        return None

    def close(self):
        pass


HOST_FACTS = {"host_cpus", "hypervisor", "capabilities", "domain_capabilities", "free_pages", "lib_version"}


@pytest.fixture
def fake_edge(monkeypatch):
    FakeEdge.instances = []
    monkeypatch.setattr(apply, "LibvirtEdge", FakeEdge)
    return FakeEdge


def params(**extra):
    base = {"name": "vt-fake", "uuid": None, "uri": "test:///fake", "live": True, "backup": False, "backup_dir": None}
    base.update(extra)
    return base


def hugepages_request():
    area = AREAS["memory_backing"]
    options = {f.name: None for f in area.fields}
    options["hugepages"] = [{"size": "2M"}]
    return [(area, options, "merged")]


def test_host_facts_are_fetched_before_the_lock_and_libvirt_is_not_asked_under_it(fake_edge):
    outcome = apply.apply_connected(params(), hugepages_request(), check_mode=False)
    edge = fake_edge.instances[0]
    assert [r.changed for r in outcome.results] == [True]
    assert len(edge.defined) == 1
    asked = [name for name, _locked in edge.calls if name in HOST_FACTS]
    assert {"capabilities", "free_pages", "host_cpus"} <= set(asked)
    assert [name for name, locked in edge.calls if locked] == [
        "persistent_xml", "is_defined", "define", "persistent_xml", "running_xml"]


def test_another_writer_between_read_and_lock_means_a_new_attempt_with_a_new_context(monkeypatch):
    def other_writer(edge):
        if not edge.locked and edge.on_persistent_xml:
            edge.xml = edge.xml.replace("<memory unit='MiB'>128</memory>", "<memory unit='MiB'>256</memory>")
            edge.on_persistent_xml = None
    fake_edge_instance = []

    class Writer(FakeEdge):
        def __init__(self, uri=None):
            super().__init__(uri)
            self.on_persistent_xml = other_writer
            fake_edge_instance.append(self)
    monkeypatch.setattr(apply, "LibvirtEdge", Writer)
    apply.apply_connected(params(), hugepages_request(), check_mode=False)
    edge = fake_edge_instance[0]
    assert len(edge.defined) == 1
    assert apply.parse_domain(edge.defined[0]).find("memory").text == "256"  # built on the other writer's XML
    # one DomainContext per attempt: the host CPUs are asked once per attempt, never under the lock
    assert [locked for name, locked in edge.calls if name == "host_cpus"] == [False, False]


def test_a_guest_undefined_meanwhile_is_not_recreated(monkeypatch):
    def undefine(edge):
        edge.persistent = False

    class Undefined(FakeEdge):
        def __init__(self, uri=None):
            super().__init__(uri)
            self.on_persistent_xml = undefine
            made.append(self)
    made = []
    monkeypatch.setattr(apply, "LibvirtEdge", Undefined)
    with pytest.raises(TuningError) as err:
        apply.apply_connected(params(), hugepages_request(), check_mode=False)
    assert str(err.value) == "vt-fake: the domain was undefined while it was being tuned; nothing was defined"
    assert made[0].defined == []


def test_check_mode_takes_no_lock_and_defines_nothing(fake_edge):
    outcome = apply.apply_connected(params(), hugepages_request(), check_mode=True)
    edge = fake_edge.instances[0]
    assert [r.changed for r in outcome.results] == [True]
    assert edge.defined == [] and not [name for name, locked in edge.calls if locked]


def test_converge_freezes_the_host_facts_once_its_rules_are_done():
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import (
        DomainContext, FactMissing, converge,
    )
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
    asked = []
    ctx = DomainContext(connected=True, loaders={"capabilities": lambda: asked.append("capabilities"),
                                                 "lib_version": lambda: asked.append("lib_version")})
    converge(parse_domain(BASE), hugepages_request(), ctx)
    assert asked == ["capabilities"]
    assert ctx.host("capabilities") is None  # fetched before: served from the cache
    with pytest.raises(FactMissing):
        ctx.host("lib_version")
    assert asked == ["capabilities"]
