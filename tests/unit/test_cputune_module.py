"""cputune module: offline (xml) and on the libvirt test driver (persistent path)."""

import pytest

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
    assert "s3cret" not in result["xml"]
    assert 'passwd="********"' in result["xml"]
