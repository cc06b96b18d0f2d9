# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_topology: capabilities XML + sysfs + /proc/cmdline into the documented host dict."""

from __future__ import annotations

import pytest

import fakehost
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import (
    build_host, cmdline_cpuset, summarise_domain_capabilities)


@pytest.mark.parametrize("name", sorted(fakehost.HOSTS))
def test_fixture_files_match_their_specs(name):
    assert fakehost.load_capabilities(name) == fakehost.capabilities_xml(fakehost.HOSTS[name])


@pytest.fixture(name="described")
def described_fixture(tmp_path):
    def describe(name, sysfs=True):
        spec = fakehost.HOSTS[name]
        sysfs_root = fakehost.write_sysfs(spec, str(tmp_path / name / "sys")) if sysfs else None
        proc_root = fakehost.write_proc(spec, str(tmp_path / name / "proc")) if sysfs else None
        return build_host(fakehost.load_capabilities(name), sysfs_root=sysfs_root, proc_root=proc_root)
    return describe


def test_offline_cpus_with_sysfs(described):
    host = described("offline-cpus")
    assert host["cpus"][2:6] == [
        {"id": 2, "online": True, "node": 0, "socket": 0, "die": 0, "core": 2, "siblings": "2,10",
         "l3": "0-2,8-10", "isolated": False, "nohz_full": False},
        {"id": 3, "online": False, "node": 0, "socket": -1, "die": -1, "core": -1, "siblings": "3",
         "l3": None, "isolated": False, "nohz_full": False},
        {"id": 4, "online": True, "node": 1, "socket": 1, "die": 0, "core": 0, "siblings": "4,12",
         "l3": "4-7,12,14-15", "isolated": False, "nohz_full": False},
        {"id": 5, "online": True, "node": 1, "socket": 1, "die": 0, "core": 1, "siblings": "5",
         "l3": "4-7,12,14-15", "isolated": False, "nohz_full": False},
    ]
    assert [c["id"] for c in host["cpus"]] == list(range(16))
    assert host["nodes"] == [
        {"id": 0, "cpus": "0-2,8-10", "memory_kib": 8388608, "free_kib": 4194304,
         "distances": [{"id": 0, "value": 10}, {"id": 1, "value": 21}],
         "hugepages": [{"size_kib": 2048, "total": 0, "free": 0, "surplus": 0},
                       {"size_kib": 1048576, "total": 0, "free": 0, "surplus": 0}]},
        {"id": 1, "cpus": "4-7,12,14-15", "memory_kib": 8388608, "free_kib": 4194304,
         "distances": [{"id": 0, "value": 21}, {"id": 1, "value": 10}],
         "hugepages": [{"size_kib": 2048, "total": 0, "free": 0, "surplus": 0},
                       {"size_kib": 1048576, "total": 0, "free": 0, "surplus": 0}]},
    ]
    assert (host["isolated"], host["nohz_full"], host["cmdline"], host["smt"]) == ("", "", "", True)
    assert host["domain_capabilities"] is None


def test_offline_cpus_without_sysfs_are_unknown(described):
    host = described("offline-cpus", sysfs=False)
    # libvirt lists only online CPUs: the offline ones are simply absent
    assert [c["id"] for c in host["cpus"]] == [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 12, 14, 15]
    assert host["cpus"][3] == {"id": 4, "online": True, "node": 1, "socket": 1, "die": 0, "core": 0,
                               "siblings": "4,12", "l3": "4-7,12,14-15", "isolated": False, "nohz_full": False}


def test_offline_cpu_listed_without_topology_by_libvirt():
    xml = fakehost.load_capabilities("offline-cpus").replace(
        "<cpu id='1' socket_id='0' die_id='0' core_id='1' siblings='1,9'/>", "<cpu id='3'/>")
    host = build_host(xml)
    assert host["cpus"][2] == {"id": 3, "online": False, "node": 0, "socket": -1, "die": -1, "core": -1,
                               "siblings": "3", "l3": None, "isolated": False, "nohz_full": False}


def test_two_socket_interleaved(described):
    host = described("two-socket-interleaved")
    assert len(host["cpus"]) == 112
    assert host["cpus"][0] == {"id": 0, "online": True, "node": 0, "socket": 0, "die": 0, "core": 0,
                               "siblings": "0,56", "l3": "0-27,56-83", "isolated": False, "nohz_full": False}
    assert host["cpus"][86] == {"id": 86, "online": True, "node": 1, "socket": 1, "die": 0, "core": 2,
                                "siblings": "30,86", "l3": "28-55,84-111", "isolated": True, "nohz_full": True}
    assert [n["cpus"] for n in host["nodes"]] == ["0-27,56-83", "28-55,84-111"]
    assert host["isolated"] == "2-27,30-55,58-83,86-111"
    assert host["nohz_full"] == "2-27,30-55,58-83,86-111"
    assert host["nodes"][1]["hugepages"] == [{"size_kib": 2048, "total": 8192, "free": 8192, "surplus": 0},
                                             {"size_kib": 1048576, "total": 32, "free": 32, "surplus": 0}]
    assert host["smt"] is True


def test_adjacent_free_pages_come_from_sysfs(described):
    with_sysfs = described("adjacent")
    without = described("adjacent", sysfs=False)
    assert with_sysfs["nodes"][0]["hugepages"] == [{"size_kib": 2048, "total": 2048, "free": 1024, "surplus": 0},
                                                   {"size_kib": 1048576, "total": 0, "free": 0, "surplus": 0}]
    # offline without sysfs the capabilities' counts count as free
    assert without["nodes"][0]["hugepages"][0] == {"size_kib": 2048, "total": 2048, "free": 2048, "surplus": 0}
    assert without["nodes"][0]["free_kib"] is None
    assert with_sysfs["cpus"][1]["siblings"] == "0-1"


def test_no_smt(described):
    host = described("no-smt")
    assert host["smt"] is False
    assert {c["siblings"] for c in host["cpus"][:3]} == {"0", "1", "2"}


def test_isolated_falls_back_to_the_command_line():
    host = build_host(fakehost.load_capabilities("no-smt"),
                      cmdline="ro isolcpus=nohz,domain,2-7,^5 nohz_full=2-4 quiet")
    assert (host["isolated"], host["nohz_full"]) == ("2-4,6-7", "2-4")
    assert [c["id"] for c in host["cpus"] if c["isolated"]] == [2, 3, 4, 6, 7]


def test_cmdline_cpuset_last_word_wins():
    assert cmdline_cpuset("isolcpus=1 isolcpus=managed_irq,3-4", "isolcpus") == frozenset([3, 4])
    assert cmdline_cpuset("quiet", "isolcpus") == frozenset()


DOMCAPS = """<domainCapabilities>
  <vcpu max='255'/>
  <os supported='yes'>
    <enum name='firmware'><value>efi</value><value>bios</value></enum>
    <loader supported='yes'/>
  </os>
  <cpu>
    <mode name='host-passthrough' supported='yes'/>
    <mode name='maximum' supported='no'/>
    <mode name='custom' supported='yes'>
      <model usable='yes'>qemu64</model>
      <model usable='no'>EPYC</model>
      <model usable='yes'>kvm64</model>
    </mode>
  </cpu>
</domainCapabilities>"""


def test_domain_capabilities_summary():
    assert summarise_domain_capabilities(DOMCAPS) == {
        "firmware": ["efi", "bios"], "max_vcpus": 255, "cpu_modes": ["host-passthrough", "custom"],
        "models": ["kvm64", "qemu64"]}
    assert summarise_domain_capabilities(None) is None


@pytest.mark.parametrize("xml, message", [
    ("<domain/>", "capabilities_xml: 'domain' is not valid: the root element must be <capabilities> (virsh capabilities)"),
    ("<capabilities><host/></capabilities>",
     "capabilities_xml: '<capabilities>' is not valid: no <host><topology><cells><cell> found"),
    ("<capabilities><host><topology><cells><cell id='x'/></cells></topology></host></capabilities>",
     "capabilities_xml: 'x' is not valid: attribute id of <cell> must be an integer"),
    ("", "capabilities_xml: '' is not valid: expected an XML document"),
])
def test_bad_capabilities_are_refused_with_the_rule(xml, message):
    with pytest.raises(TuningError) as caught:
        build_host(xml)
    assert str(caught.value) == message


def test_entities_are_not_expanded(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("42")
    xml = ("<?xml version='1.0'?><!DOCTYPE c [<!ENTITY x SYSTEM 'file://%s'>]>"
           "<capabilities><host><topology><cells><cell id='0'><memory unit='KiB'>&x;</memory>"
           "</cell></cells></topology></host></capabilities>" % secret)
    with pytest.raises(TuningError):
        build_host(xml)
