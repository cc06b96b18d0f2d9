"""memtune module: offline (xml), refusals, round trips, and the test driver (persistent path)."""

import pytest

from conftest import fixture_text, run_module

BASE = fixture_text("guest-minimal.xml").replace("<name>vt-probe</name>", "<name>vt-memtune</name>")


def area_warnings(area, xml, params, ctx_kwargs=None):
    """The warnings an area's rules give (module warnings reach stdout or stderr depending on the
    Ansible display mode other tests left behind, so they are asserted at the engine)."""
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import DomainContext, converge
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
    full = {f.name: None for f in area.fields}
    full.update(params)
    results = converge(parse_domain(xml), [(area, full, "merged")], DomainContext(None, **(ctx_kwargs or {})))
    return results[0].warnings


def test_offline_merge_writes_canonical_xml():
    result = run_module("memtune", {"xml": BASE, "hard_limit": "1G", "soft_limit": "512MiB",
                                    "swap_hard_limit": 2097152})
    assert result["changed"] is True
    assert result["before"] == {}
    assert result["after"] == {"hard_limit": "1 GiB", "soft_limit": "512 MiB", "swap_hard_limit": "2 GiB"}
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"] == (
        '<memtune>\n  <hard_limit unit="KiB">1048576</hard_limit>\n  <soft_limit unit="KiB">524288</soft_limit>\n'
        '  <swap_hard_limit unit="KiB">2097152</swap_hard_limit>\n</memtune>\n')
    assert (result["live_changes"], result["restart_required"]) == ([], False)
    again = run_module("memtune", {"xml": result["xml"], "hard_limit": "1048576 KiB", "soft_limit": "524288k"})
    assert again["changed"] is False
    assert again["xml"] == result["xml"]


def test_unlimited_removes_a_limit_and_equals_absence():
    tuned = run_module("memtune", {"xml": BASE, "hard_limit": "1G", "soft_limit": "512M"})["xml"]
    result = run_module("memtune", {"xml": tuned, "hard_limit": "unlimited"})
    assert result["changed"] is True
    assert result["after"] == {"hard_limit": "unlimited", "soft_limit": "512 MiB"}
    assert result["diff"]["after"] == '<memtune>\n  <soft_limit unit="KiB">524288</soft_limit>\n</memtune>\n'
    again = run_module("memtune", {"xml": result["xml"], "hard_limit": "UNLIMITED"})
    assert again["changed"] is False


def test_libvirt_unlimited_value_reads_as_unlimited():
    xml = BASE.replace("<iothreads>", "<memtune><hard_limit unit='KiB'>9007199254740991</hard_limit></memtune>"
                                      "<iothreads>")
    assert run_module("memtune", {"xml": xml, "state": "gathered"})["gathered"] == {"hard_limit": "unlimited"}
    assert run_module("memtune", {"xml": xml, "hard_limit": "unlimited"})["changed"] is False


def test_replaced_and_deleted():
    tuned = run_module("memtune", {"xml": BASE, "hard_limit": "1G", "soft_limit": "512M"})["xml"]
    replaced = run_module("memtune", {"xml": tuned, "state": "replaced", "soft_limit": "256M"})
    assert replaced["after"] == {"soft_limit": "256 MiB"}
    assert replaced["diff"]["after"] == '<memtune>\n  <soft_limit unit="KiB">262144</soft_limit>\n</memtune>\n'
    deleted = run_module("memtune", {"xml": tuned, "state": "deleted", "soft_limit": "512M"})
    assert deleted["after"] == {"hard_limit": "1 GiB"}
    everything = run_module("memtune", {"xml": tuned, "state": "deleted"})
    assert (everything["changed"], everything["after"], everything["diff"]["after"]) == (True, {}, "")
    assert "<memtune" not in everything["xml"]


def test_gathered_then_replaced_changes_nothing():
    tuned = run_module("memtune", {"xml": BASE, "hard_limit": "3G", "soft_limit": "1536M",
                                   "swap_hard_limit": "4G"})["xml"]
    gathered = run_module("memtune", {"xml": tuned, "state": "gathered"})
    assert gathered["changed"] is False
    assert gathered["gathered"] == {"hard_limit": "3 GiB", "soft_limit": "1536 MiB", "swap_hard_limit": "4 GiB"}
    again = run_module("memtune", dict(gathered["gathered"], xml=tuned, state="replaced"))
    assert again["changed"] is False
    assert again["xml"] == tuned


def test_check_mode_reports_the_same_change():
    checked = run_module("memtune", {"xml": BASE, "soft_limit": "64M"}, check=True)
    real = run_module("memtune", {"xml": BASE, "soft_limit": "64M"})
    assert checked["changed"] is real["changed"] is True
    assert checked["diff"] == real["diff"]


@pytest.mark.parametrize("args, message", [
    ({"hard_limit": "-1G"}, "hard_limit: '-1G' is not valid: sizes cannot be negative"),
    ({"soft_limit": "lots"}, "soft_limit: 'lots' is not valid: expected a number with an optional unit, "
                             "such as 8G or '512 MiB'"),
    ({"swap_hard_limit": "1G", "hard_limit": "2G"},
     "swap_hard_limit: '1 GiB' is not valid: it must be at least hard_limit (2 GiB); "
     "swap_hard_limit limits memory plus swap"),
    ({"hard_limit": "1 XB"}, "hard_limit: 'XB' is not valid: unknown unit; use b, KiB/K, KB, MiB/M, MB, GiB/G, GB, "
                             "TiB/T, TB"),
    ({"min_guarantee": "unlimited"}, "min_guarantee: 'unlimited' is not valid: expected a number with an optional "
                                     "unit, such as 8G or '512 MiB'"),
])
def test_refusals(args, message):
    result = run_module("memtune", dict(args, xml=BASE))
    assert result == {"failed": True, "msg": message}


def test_offline_warnings():
    from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.memtune import AREA
    result = run_module("memtune", {"xml": BASE, "hard_limit": "64M", "min_guarantee": "32M"})
    assert result["changed"] is True
    assert area_warnings(AREA, BASE, {"hard_limit": "64M", "min_guarantee": "32M"}) == [
        "min_guarantee: QEMU/KVM guests do not support it (libvirt accepts it only for VMware ESX and OpenVZ); "
        "defining this XML on a QEMU/KVM host will fail",
        "hard_limit: 64 MiB is below the guest's memory (128 MiB): the guest, QEMU's own memory included, "
        "will be killed or swapped when it uses it",
    ]


# --------------------------------------------------------------------------- test driver

def define(testdriver, name):
    conn, created = testdriver
    xml = BASE.replace("<name>vt-memtune</name>", "<name>%s</name>" % name)
    dom = conn.defineXML(xml)
    created.append(name)
    return conn, dom


def test_test_driver_persistent_path(testdriver):
    import libvirt
    conn, dom = define(testdriver, "vt-ut-memtune")
    args = {"uri": "test:///default", "name": "vt-ut-memtune", "hard_limit": "2G", "soft_limit": "1G"}
    checked = run_module("memtune", args, check=True)
    assert (checked["changed"], checked["after"]) == (True, {"hard_limit": "2 GiB", "soft_limit": "1 GiB"})
    assert "<memtune" not in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    result = run_module("memtune", args)
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (True, [], False)
    assert "xml" not in result
    from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.memtune import AREA
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
    held = AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))))
    assert held == {"hard_limit": "2 GiB", "soft_limit": "1 GiB"}
    assert run_module("memtune", args)["changed"] is False
    gathered = run_module("memtune", {"uri": "test:///default", "name": "vt-ut-memtune", "state": "gathered"})
    assert gathered["gathered"] == held
    # the test driver is not QEMU: min_guarantee is accepted there
    assert run_module("memtune", {"uri": "test:///default", "name": "vt-ut-memtune",
                                  "min_guarantee": "64M"})["changed"] is True


def test_test_driver_running_guest_soft_limit_live(testdriver):
    conn, dom = define(testdriver, "vt-ut-memtune-live")
    dom.create()
    result = run_module("memtune", {"uri": "test:///default", "name": "vt-ut-memtune-live", "soft_limit": "96M"})
    assert result["changed"] is True
    assert result["live_changes"] == ["set memory parameters soft_limit=98304 KiB"]
    assert result["restart_required"] is False
    assert dom.memoryParameters(0)["soft_limit"] == 98304
    again = run_module("memtune", {"uri": "test:///default", "name": "vt-ut-memtune-live", "soft_limit": "96M"})
    assert (again["changed"], again["live_changes"]) == (False, [])
