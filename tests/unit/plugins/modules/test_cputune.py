"""cputune module: offline (xml) and on the libvirt test driver (persistent path)."""

import os
import stat

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.cputune import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

from conftest import fixture_text, run_module

BASE = fixture_text("guest-minimal.xml")


def test_offline_merge_writes_canonical_xml_and_reports_change():
    result = run_module("cputune", {"xml": BASE, "vcpupin": [{"vcpu": 1, "cpuset": "0-3,^2"}, {"vcpu": 0, "cpuset": 5}],
                                    "emulatorpin": [0, 1], "shares": 2048})
    assert result["changed"] is True
    assert result["after"] == {"shares": 2048, "vcpupin": [{"vcpu": 1, "cpuset": "0-1,3"}, {"vcpu": 0, "cpuset": "5"}],
                               "emulatorpin": "0-1"}
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"] == (
        '<cputune>\n  <shares>2048</shares>\n  <vcpupin vcpu="1" cpuset="0-1,3"/>\n'
        '  <vcpupin vcpu="0" cpuset="5"/>\n  <emulatorpin cpuset="0-1"/>\n</cputune>\n')
    again = run_module("cputune", {"xml": result["xml"], "vcpupin": [{"vcpu": 0, "cpuset": "5"}], "shares": 2048})
    assert again["changed"] is False
    assert again["xml"] == result["xml"]


def test_secrets_in_offline_xml_are_masked():
    result = run_module("cputune", {"xml": BASE, "shares": 100})
    assert parse_domain(result["xml"]).find("devices/graphics").get("passwd") == "********"
    assert "s3cret" not in repr(result)


def persistent_cputune(conn, name):
    """The cputune area as libvirt holds it, in the shape of the module's options."""
    return AREA.to_options(AREA.read(parse_domain(conn.lookupByName(name).XMLDesc(2))))


def define_test_guest(testdriver, name):
    conn, created = testdriver
    dom = conn.defineXML(fixture_text("guest-testdriver.xml").replace("NAME", name))
    created.append(name)
    return conn, dom


def test_testdriver_persistent_path_check_mode_diff_and_idempotence(testdriver, tmp_path):
    conn, dom = define_test_guest(testdriver, "vt-ut-cputune")
    args = {"uri": "test:///default", "name": "vt-ut-cputune", "vcpupin": [{"vcpu": 0, "cpuset": 1}],
            "emulatorpin": "0", "iothreadpin": [{"iothread": 2, "cpuset": "1"}], "backup": True,
            "backup_dir": str(tmp_path)}
    import libvirt
    before_xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
    checked = run_module("cputune", args, check=True)
    assert checked["changed"] is True
    assert "backup_file" not in checked
    assert dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE) == before_xml
    done = run_module("cputune", args)
    assert done["changed"] is True
    assert done["diff"] == checked["diff"]
    assert done["after"] == {"vcpupin": [{"vcpu": 0, "cpuset": "1"}], "emulatorpin": "0",
                             "iothreadpin": [{"iothread": 2, "cpuset": "1"}]}
    with open(done["backup_file"]) as handle:
        assert handle.read() == before_xml
    assert stat.S_IMODE(os.stat(done["backup_file"]).st_mode) == 0o600
    assert persistent_cputune(conn, "vt-ut-cputune") == done["after"]
    again = run_module("cputune", args)
    assert again["changed"] is False and again["live_changes"] == [] and again["restart_required"] is False
    gathered = run_module("cputune", {"uri": "test:///default", "name": "vt-ut-cputune", "state": "gathered"})
    assert gathered["gathered"] == done["after"]
    assert gathered["changed"] is False


def test_testdriver_keeps_graphics_password_and_never_shows_it(testdriver):
    conn, dom = define_test_guest(testdriver, "vt-ut-secret")
    import libvirt
    result = run_module("cputune", {"uri": "test:///default", "name": "vt-ut-secret", "shares": 512})
    assert "t0ps3cret" not in repr(result)
    secure = parse_domain(conn.lookupByName("vt-ut-secret").XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE))
    assert secure.find("devices/graphics").get("passwd") == "t0ps3cret"
    assert persistent_cputune(conn, "vt-ut-secret") == {"shares": 512}


def test_unknown_domain_is_a_clear_failure(testdriver):
    result = run_module("cputune", {"uri": "test:///default", "name": "vt-ut-nope", "shares": 512})
    assert result["failed"] is True
    assert result["msg"] == "name: no domain 'vt-ut-nope' on test:///default: Domain not found"


def test_uri_credentials_are_masked(testdriver):
    result = run_module("cputune", {"uri": "qemu+tcp://admin:hunter2@127.0.0.2:1/system", "name": "x", "shares": 512})
    assert result["failed"] is True
    assert "hunter2" not in repr(result)
    # the tail is libvirt's own connection error, which depends on the libvirt version and the host
    assert result["msg"].startswith("uri: cannot connect to qemu+tcp://***@127.0.0.2:1/system: ")


def test_bad_input_fails_before_anything_is_written(testdriver):
    conn, dom = define_test_guest(testdriver, "vt-ut-bad")
    before = dom.XMLDesc(0)
    result = run_module("cputune", {"uri": "test:///default", "name": "vt-ut-bad", "shares": 512,
                                    "vcpupin": [{"vcpu": 9, "cpuset": "0"}]})
    assert result == {"failed": True, "msg": "vcpupin[vcpu=9].vcpu: 9 is not valid: the guest has 4 vCPUs (0-3); "
                                             "raise vcpus.maximum or drop this pin"}
    assert conn.lookupByName("vt-ut-bad").XMLDesc(0) == before


def test_concurrent_writer_is_not_lost(testdriver, monkeypatch):
    """Another writer defines between our read and our define: both changes survive."""
    conn, dom = define_test_guest(testdriver, "vt-ut-race")
    from ansible_collections.virtuned.libvirt.plugins.module_utils.edge import connection as libvirt_edge
    real = libvirt_edge.LibvirtEdge.persistent_xml
    calls = {"n": 0}

    def racing(self, domain):
        calls["n"] += 1
        if calls["n"] == 2:  # the re-read just before define: someone else tuned the memtune area
            xml = real(self, domain).replace("</memory>", "</memory><memtune><soft_limit unit='KiB'>262144</soft_limit></memtune>", 1)
            self.conn.defineXML(xml)
        return real(self, domain)
    monkeypatch.setattr(libvirt_edge.LibvirtEdge, "persistent_xml", racing)
    result = run_module("cputune", {"uri": "test:///default", "name": "vt-ut-race", "shares": 512})
    assert result["changed"] is True
    final = parse_domain(conn.lookupByName("vt-ut-race").XMLDesc(0))
    assert persistent_cputune(conn, "vt-ut-race") == {"shares": 512}
    assert (final.findtext("memtune/soft_limit"), final.find("memtune/soft_limit").get("unit")) == ("262144", "KiB")
    assert calls["n"] == 5  # read, re-read (changed), read again, re-read (same), read back after define
