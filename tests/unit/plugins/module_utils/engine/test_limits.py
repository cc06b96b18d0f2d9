"""engine/limits.py: the documented limits and the checks that keep any input bounded."""

import pytest

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, shown
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import (
    bounded_int, check_xml_text, oversized_number,
)

SPEC = {"maximum": {"type": "int"}, "cmdline": {"type": "str"},
        "vcpus": {"type": "list", "elements": "dict", "options": {"id": {"type": "int"}}},
        "topology": {"type": "dict", "options": {"sockets": {"type": "int"}}},
        "enable_cells": {"type": "list", "elements": "int"}}


@pytest.mark.parametrize("params, found", [
    ({"maximum": "9" * 5000}, ("maximum", "9" * 5000)),
    ({"maximum": 10 ** 30}, ("maximum", 10 ** 30)),
    ({"vcpus": [{"id": 1}, {"id": "1" * 21}]}, ("vcpus[1].id", "1" * 21)),
    ({"topology": {"sockets": "-" + "9" * 30}}, ("topology.sockets", "-" + "9" * 30)),
    ({"enable_cells": [0, "7" * 25]}, ("enable_cells[1]", "7" * 25)),
    ({"cmdline": "9" * 5000}, None),  # text may hold digits
    ({"maximum": "18446744073709551615"}, None),  # 20 digits: libvirt's own largest number
    ({"unknown": "9" * 5000}, None),
])
def test_oversized_number_finds_int_options_only(params, found):
    assert oversized_number(SPEC, params) == found


def test_shown_never_formats_a_huge_int():
    assert shown(10 ** 5000) == "<an integer of 16610 bits>"
    assert shown([10 ** 5000]) == "<a list holding a number too long to show>"
    assert shown("x" * 300) == "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (300 characters)"
    assert shown("/a/path") == "'/a/path'"


def test_bounded_int_reads_xml_numbers():
    assert (bounded_int(" 42 "), bounded_int("9" * 21), bounded_int("4x"), bounded_int("\u0664")) == (42, None, None, None)


def test_xml_text_refuses_control_characters_and_lone_surrogates():
    check_xml_text("tab\tand\nnewline\r ok \u00e9", "cmdline")
    with pytest.raises(TuningError) as err:
        check_xml_text("a\ud800b", "cmdline")
    assert str(err.value) == ("cmdline: 'a\\ud800b' is not valid: character U+D800 at position 1 is a code point "
                              "XML does not allow, which domain XML cannot hold")


@pytest.mark.parametrize("params, message", [
    ({"maximum": "9" * 30}, "maximum: '999999999999999999999999999999' is not valid: a number has at most 20 digits "
                            "(libvirt's 64-bit limit)"),
    ({"topology": True}, "topology: True is not valid: expected a dictionary"),
    ({"vcpus": [None]}, "vcpus[0]: None is not valid: expected a dictionary"),
    ({"vcpus": 5}, "vcpus: 5 is not valid: expected a list of dictionaries"),
    ({"vcpus": [{"id": 1}], "topology": {"sockets": 2}, "cmdline": "x"}, None),
])
def test_raw_argument_problem(params, message):
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import raw_argument_problem
    assert raw_argument_problem(SPEC, params) == message


def test_raw_argument_problem_covers_every_module_option():
    # every area's argument spec: a bool where a dict of sub-options is expected is found, not a traceback
    from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import raw_argument_problem
    for area in AREAS.values():
        spec = area.argspec()
        for name, option in spec.items():
            if option.get("options"):
                assert raw_argument_problem(spec, {name: True}).startswith("%s: True is not valid: expected" % name)
