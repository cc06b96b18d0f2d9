"""tuning_info reports the profile versions a guest records and whether the guest still matches them."""

from conftest import run_module

OWN = "urn:virtuned.libvirt:tuning:1"
REALTIME_GUEST = """<domain type='kvm'><name>vt-rt</name><memory unit='MiB'>4096</memory><vcpu>4</vcpu>
<metadata><virtuned:tuning xmlns:virtuned='%s' profile='%%s'/></metadata>
<cputune>
  <vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='3'/><vcpupin vcpu='2' cpuset='6'/><vcpupin vcpu='3' cpuset='7'/>
  <emulatorpin cpuset='1'/>
  <vcpusched vcpus='1-3' scheduler='fifo' priority='1'/>
</cputune>
<memoryBacking><hugepages><page size='1' unit='G'/></hugepages></memoryBacking>
<os><type arch='x86_64'>hvm</type></os>
</domain>""" % OWN


def test_offline_the_recorded_profile_and_whether_the_guest_matches_it():
    matching = run_module("tuning_info", {"xml": REALTIME_GUEST % "realtime@1"})["guest"]
    assert matching["areas"]["metadata"] == {"profile": "realtime@1"}
    assert matching["profile"] == {"profile": "realtime@1", "matches": True, "differences": []}
    drifted = run_module("tuning_info", {"xml": REALTIME_GUEST % "dedicated@1"})["guest"]
    assert drifted["profile"] == {"profile": "dedicated@1", "matches": False,
                                  "differences": ["emulator_threads: share in dedicated@1, isolate in the guest",
                                                  "page_size: small in dedicated@1, 1G in the guest"]}


def test_user_profiles_are_checked_when_given():
    user = {"db": {"version": 3, "extends": "realtime@1", "vcpus": 8, "memory": "4G", "realtime_vcpus": "^0,^1"}}
    without = run_module("tuning_info", {"xml": REALTIME_GUEST % "db@3"})["guest"]
    assert without["profile"] == {
        "profile": "db@3", "matches": None, "differences": [],
        "reason": "profile: 'db@3' is not valid: unknown profile; known: dedicated, dedicated-isolated-emulator, "
                  "nfv-hugepages, realtime, shared-balanced"}
    given = run_module("tuning_info", {"xml": REALTIME_GUEST % "db@3", "profiles": user})["guest"]
    assert given["profile"] == {"profile": "db@3", "matches": False,
                                "differences": ["vcpus: 8 in db@3, 4 in the guest",
                                                "realtime_vcpus: 2-3 in db@3, 1-3 in the guest"]}


def test_bad_profiles_fail_before_any_guest_is_read():
    result = run_module("tuning_info", {"xml": REALTIME_GUEST % "realtime@1", "profiles": {"realtime": {"version": 9}}})
    assert result == {"failed": True, "msg": "profiles[realtime]: 'realtime' is not valid: a built-in profile has this "
                                             "name; choose another (built-in: dedicated, dedicated-isolated-emulator, "
                                             "nfv-hugepages, realtime, shared-balanced)"}


def test_test_driver_guest_recorded_by_the_metadata_module(testdriver):
    conn, created = testdriver
    xml = (REALTIME_GUEST % "realtime@1").replace("<domain type='kvm'>", "<domain type='test'>").replace(
        "<metadata><virtuned:tuning xmlns:virtuned='%s' profile='realtime@1'/></metadata>" % OWN, "")
    dom = conn.defineXML(xml.replace("vt-rt", "vt-ut-profile"))
    created.append("vt-ut-profile")
    dom.create()
    args = {"uri": "test:///default", "name": "vt-ut-profile"}
    assert run_module("tuning_info", args)["guest"]["profile"] is None
    assert run_module("metadata", dict(args, profile="realtime@1"))["live_changes"] == [
        "record profile realtime@1 in the guest's metadata"]
    guest = run_module("tuning_info", args)["guest"]
    assert guest["profile"] == {"profile": "realtime@1", "matches": True, "differences": []}
    assert guest["areas"]["metadata"] == guest["live_areas"]["metadata"] == {"profile": "realtime@1"}
    assert guest["drift"] == []
