"""No traceback and bounded work for any input (issue 9 item 6): exact refusals, options named."""

import time

import pytest

from conftest import fixture_text, run_module

BASE = fixture_text("guest-minimal.xml")
NUMA = BASE.replace("</cpu>", "<numa><cell id='0' cpus='0-3' memory='131072' unit='KiB'/></numa></cpu>").replace(
    "<vcpu", "<maxMemory slots='4' unit='GiB'>4</maxMemory><vcpu")
HUGE = "9" * 5000


def failed(module, args, check=False):
    result = run_module(module, args, check=check)
    assert result.get("failed") is True, result
    return result["msg"]


@pytest.mark.parametrize("module, args, message", [
    ("boot_firmware", {"kernel": "/boot/vmlinuz", "cmdline": "console=ttyS0\x01"},
     "cmdline: 'console=ttyS0\\x01' is not valid: character U+0001 at position 13 is a control character, "
     "which domain XML cannot hold"),
    ("boot_firmware", {"loader": {"path": "/usr/share/OVMF/\x00x.fd"}},
     "loader.path: '/usr/share/OVMF/\\x00x.fd' is not valid: character U+0000 at position 16 is a control "
     "character, which domain XML cannot hold"),
    ("cpu_model", {"model": {"name": "kvm\x0b64"}},
     "model.name: 'kvm\\x0b64' is not valid: character U+000B at position 3 is a control character, which "
     "domain XML cannot hold"),
    ("memtune", {"hard_limit": HUGE},
     "hard_limit: '9999999999999999999999999999999999999999'... (5000 characters) is not valid: a number has at "
     "most 20 digits (libvirt's 64-bit limit)"),
    ("cputune", {"emulatorpin": "1" * 5000},
     "emulatorpin: '1111111111111111111111111111111111111111'... (5000 characters) is not valid: a number has at "
     "most 20 digits (libvirt's 64-bit limit)"),
    ("cputune", {"vcpupin": [{"vcpu": 0, "cpuset": "0-" + HUGE}]},
     "vcpupin[0].cpuset: '0-99999999999999999999999999999999999999'... (5002 characters) is not valid: a number "
     "has at most 20 digits (libvirt's 64-bit limit)"),
    ("memory_devices", {"dimms": [{"node": 0}]}, "missing required arguments: size found in dimms"),
])
def test_refused_with_option_value_and_rule(module, args, message):
    assert failed(module, dict(args, xml=BASE)) == message
    assert failed(module, dict(args, xml=BASE), check=True) == message


@pytest.mark.parametrize("parse", ["int", "size", "cpuset"])
def test_huge_int_is_refused_without_converting_it_to_text(parse):
    # an int of 5000 digits (domain_tuning hands area options to the engine as given) is never formatted
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import parse_cpuset
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import Int
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import parse_size
    call = {"int": lambda v: Int(1).parse(v, "opt"), "size": lambda v: parse_size(v, "opt"),
            "cpuset": lambda v: parse_cpuset(v, "opt")}[parse]
    with pytest.raises(TuningError) as err:
        call(10 ** 5000 - 1)
    assert str(err.value) == ("opt: <an integer of 16610 bits> is not valid: a number has at most 20 digits "
                              "(libvirt's 64-bit limit)")


@pytest.mark.parametrize("state", ["merged", "replaced"])
def test_dimm_with_slot_zero_beside_one_without_slot(state):
    args = {"xml": NUMA, "state": state, "max_memory": {"size": "4G", "slots": 4},
            "dimms": [{"size": "128M", "node": 0, "slot": 0}, {"size": "128M", "node": 0}]}
    first = run_module("memory_devices", args)
    assert first["changed"] is True
    assert first["after"]["dimms"] == [{"size": "128 MiB", "node": 0, "slot": 0}, {"size": "128 MiB", "node": 0}]
    again = run_module("memory_devices", dict(args, xml=first["xml"]))
    assert again["changed"] is False


def test_xml_input_above_libvirts_limit_is_refused_and_its_secrets_masked():
    padding = "<!-- %s -->" % ("x" * (4 * 1024 * 1024))
    xml = BASE.replace("<devices>", "<devices>" + padding)
    result = run_module("memtune", {"xml": xml, "soft_limit": "1G"})
    assert result["failed"] is True
    assert result["msg"] == ("xml: a document of %d characters is not valid: libvirt takes a domain XML of at most "
                             "4194304 bytes (its remote protocol's string limit, 4 MiB)" % len(xml))


def test_cpuset_with_many_ranges_is_bounded_work():
    start = time.monotonic()
    msg = failed("cputune", {"xml": BASE, "emulatorpin": ",".join(["0-16383"] * 20000) + ",16384"})
    assert msg.endswith("is not valid: CPU 16384 is above libvirt's limit of 16383")
    assert time.monotonic() - start < 5


def test_non_ascii_digits_are_not_cpu_numbers():
    msg = failed("cputune", {"xml": BASE, "emulatorpin": "\u0661"})
    assert msg == "emulatorpin: '\u0661' is not valid: '\u0661' is not a CPU number, a range 'a-b' or an exclusion '^n'"
