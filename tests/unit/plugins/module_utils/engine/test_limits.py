"""engine/limits.py: the documented limits and the checks that keep any input bounded."""

import pytest

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, shown
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import bounded_int, check_xml_text


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
