"""domain_tuning with define: a guest defined new from partial XML on uri, or the defined one converged."""

from conftest import run_module

URI = "test:///default"
PARTIAL = """<domain type='test'>
  <name>vt-define</name>
  <memory unit='MiB'>128</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <console type='pty'/>
    <interface type='network'><source network='default'/><mac address='52:54:00:12:34:56'/></interface>
  </devices>
</domain>
"""
COMPLETED = """<domain type="test">
  <name>vt-define</name>
  <memory unit="MiB">128</memory>
  <vcpu>2</vcpu>
  <cputune>
    <emulatorpin cpuset="0"/>
  </cputune>
  <os>
    <type arch="x86_64">hvm</type>
  </os>
  <devices>
    <console type="pty"/>
    <interface type="network">
      <source network="default"/>
      <mac address="52:54:00:12:34:56"/>
    </interface>
  </devices>
</domain>
"""
AREAS = {"vcpus": {"maximum": 2}, "cputune": {"emulatorpin": "0"}}


def args(**more):
    return dict(dict(xml=PARTIAL, uri=URI, define=True, **AREAS), **more)


def test_check_mode_reports_the_new_definition_and_defines_nothing(testdriver):
    conn, created = testdriver
    created.append("vt-define")
    result = run_module("domain_tuning", args(), check=True)
    assert result["changed"] is True
    assert result["defined"] is True
    assert result["xml"] == COMPLETED
    assert result["diff"][0] == {"before_header": "vt-define (not defined)", "before": "",
                                 "after_header": "vt-define (new definition)", "after": COMPLETED}
    assert [d["before_header"] for d in result["diff"][1:]] == ["vcpus (persistent)", "cputune (persistent)"]
    assert "vt-define" not in [dom.name() for dom in conn.listAllDomains()]


def test_define_keeps_the_devices_and_a_rerun_changes_nothing(testdriver):
    conn, created = testdriver
    created.append("vt-define")
    first = run_module("domain_tuning", args())
    assert first["changed"] is True and first["defined"] is True
    assert first["diff"][0]["after"] == COMPLETED
    dom = conn.lookupByName("vt-define")
    assert first["xml"] == dom.XMLDesc(0)  # the definition read back
    assert dom.vcpusFlags(2) == 2  # VIR_DOMAIN_VCPU_MAXIMUM
    assert dom.emulatorPinInfo(0) is not None
    assert "52:54:00:12:34:56" in dom.XMLDesc(0) and "<console type='pty'>" in dom.XMLDesc(0)
    assert first["after"] == {"vcpus": {"maximum": 2}, "cputune": {"emulatorpin": "0"}}
    again = run_module("domain_tuning", args())
    assert again["changed"] is False
    assert again["defined"] is False
    assert "xml" not in again
    assert again["after"] == {"vcpus": {"maximum": 2, "placement": "static"}, "cputune": {"emulatorpin": "0"}}
    again_check = run_module("domain_tuning", args(), check=True)
    assert again_check["changed"] is False


def test_a_defined_guest_is_converged_as_a_name_call_converges_it(testdriver):
    conn, created = testdriver
    created.append("vt-define")
    run_module("domain_tuning", args())
    changed = args(cputune={"emulatorpin": "1"})
    by_define = run_module("domain_tuning", changed, check=True)
    by_name = run_module("domain_tuning", {"name": "vt-define", "uri": URI, "vcpus": AREAS["vcpus"],
                                           "cputune": {"emulatorpin": "1"}}, check=True)
    assert by_define.pop("defined") is False
    assert by_define == by_name
    assert by_define["changed"] is True
    real = run_module("domain_tuning", changed)
    assert real["changed"] is True and real["defined"] is False
    assert "<emulatorpin cpuset='1'/>" in conn.lookupByName("vt-define").XMLDesc(2)


def test_the_uuid_of_the_xml_finds_the_defined_guest(testdriver):
    conn, created = testdriver
    created.append("vt-define")
    first = run_module("domain_tuning", args())
    uuid = conn.lookupByName("vt-define").UUIDString()
    with_uuid = PARTIAL.replace("<name>vt-define</name>", "<name>vt-define</name><uuid>%s</uuid>" % uuid)
    assert first["defined"] is True
    assert run_module("domain_tuning", args(xml=with_uuid))["changed"] is False
    other = with_uuid.replace(uuid, "11111111-2222-3333-4444-555555555555")
    result = run_module("domain_tuning", args(xml=other))
    assert result["failed"] is True
    assert result["msg"] == ("xml: a domain named vt-define is defined on test:///default with uuid %s, not "
                             "11111111-2222-3333-4444-555555555555" % uuid)
    renamed = with_uuid.replace("<name>vt-define</name>", "<name>vt-other</name>")
    result = run_module("domain_tuning", args(xml=renamed))
    assert result["failed"] is True
    assert result["msg"] == "xml: the domain of uuid %s on test:///default is named vt-define, not vt-other" % uuid


def test_a_rule_refusal_defines_nothing(testdriver):
    conn, created = testdriver
    created.append("vt-define")
    result = run_module("domain_tuning", args(cputune={"vcpupin": [{"vcpu": 5, "cpuset": "0"}]}))
    assert result["failed"] is True
    assert "vt-define" not in [dom.name() for dom in conn.listAllDomains()]


def test_libvirts_schema_refusal_defines_nothing(testdriver):
    conn, created = testdriver
    created.append("vt-define")
    bad = PARTIAL.replace("<console type='pty'/>", "<console type='pty'/><nonsense/>")
    result = run_module("domain_tuning", args(xml=bad))
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"].startswith("libvirt refused the new definition: ")
    assert result["msg"].endswith("; nothing was defined")
    assert "vt-define" not in [dom.name() for dom in conn.listAllDomains()]


def test_bad_combinations_are_refused_naming_the_options():
    assert run_module("domain_tuning", {"define": True, "name": "x", "vcpus": {"maximum": 2}})["msg"] == (
        "define is True but all of the following are missing: xml")
    assert run_module("domain_tuning", {"xml": PARTIAL, "uri": URI, "vcpus": {"maximum": 2}})["msg"] == (
        "parameters are mutually exclusive: xml|uri (a uri with xml needs define: true)")
    assert run_module("domain_tuning", args(dest="/tmp/x.xml"))["msg"] == "parameters are mutually exclusive: define|dest"
    nameless = PARTIAL.replace("<name>vt-define</name>", "")
    assert run_module("domain_tuning", args(xml=nameless))["msg"] == (
        "xml: the domain has no <name>: define needs the name of the guest to define")


def test_gathering_defines_nothing_and_reads_the_xml_then_the_defined_guest(testdriver):
    conn, created = testdriver
    created.append("vt-define")
    gathered = {"xml": PARTIAL, "uri": URI, "define": True, "state": "gathered", "vcpus": {}, "cputune": {}}
    result = run_module("domain_tuning", gathered)
    assert result == {"changed": False, "defined": False, "live_changes": [], "restart_required": False,
                      "restarted": False, "gathered": {"vcpus": {}, "cputune": {}}}
    assert "vt-define" not in [dom.name() for dom in conn.listAllDomains()]
    run_module("domain_tuning", args())
    result = run_module("domain_tuning", gathered)
    assert result["gathered"] == {"vcpus": {"maximum": 2, "placement": "static"}, "cputune": {"emulatorpin": "0"}}
    assert result["defined"] is False
