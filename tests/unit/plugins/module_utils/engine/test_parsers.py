"""cpuset and size parsers: exact results, clear refusals, and properties (hypothesis)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size, parse_size


@pytest.mark.parametrize("text, expected", [
    ("0-3,^2", {0, 1, 3}),
    ("0,1,3", {0, 1, 3}),
    (" 4 - 6 , 9 ", {4, 5, 6, 9}),
    ("0-7,^1-1", None),
    (5, {5}),
    ([0, "2-3"], {0, 2, 3}),
])
def test_parse_cpuset(text, expected):
    if expected is None:
        with pytest.raises(TuningError) as err:
            parse_cpuset(text, "emulatorpin")
        assert str(err.value) == "emulatorpin: '0-7,^1-1' is not valid: an exclusion takes one CPU ('^3'), not a range"
    else:
        assert parse_cpuset(text) == frozenset(expected)


@pytest.mark.parametrize("value, message", [
    ("3-1", "cpuset: '3-1' is not valid: range 3-1 runs backwards"),
    ("a", "cpuset: 'a' is not valid: 'a' is not a CPU number, a range 'a-b' or an exclusion '^n'"),
    ("", "cpuset: '' is not valid: the set is empty"),
    ("^2", "cpuset: '^2' is not valid: a set of exclusions alone selects no CPU"),
    ("1,^1", "cpuset: '1,^1' is not valid: the set is empty"),
    (True, "cpuset: True is not valid: expected a CPU set such as '0-3,^2,8'"),
    ("99999", "cpuset: '99999' is not valid: CPU 99999 is above libvirt's limit of 16383"),
])
def test_parse_cpuset_refusals(value, message):
    with pytest.raises(TuningError) as err:
        parse_cpuset(value)
    assert str(err.value) == message


def test_format_cpuset_is_libvirt_canonical():
    assert format_cpuset([3, 0, 1, 2, 8, 10, 11]) == "0-3,8,10-11"
    assert format_cpuset([5]) == "5"


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=300), min_size=1))
def test_cpuset_round_trip(cpus):
    assert parse_cpuset(format_cpuset(cpus)) == frozenset(cpus)


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=200), min_size=1), st.sets(st.integers(min_value=0, max_value=200)))
def test_cpuset_exclusions_equal_set_difference(include, exclude):
    text = ",".join([format_cpuset(include)] + ["^%d" % c for c in sorted(exclude)])
    expected = frozenset(include) - frozenset(exclude)
    if expected:
        assert parse_cpuset(text) == expected
    else:
        with pytest.raises(TuningError):
            parse_cpuset(text)


@pytest.mark.parametrize("value, nbytes", [
    ("8G", 8 * 1024 ** 3), ("8 GiB", 8 * 1024 ** 3), ("8GB", 8 * 10 ** 9), ("512MiB", 512 * 1024 ** 2),
    ("512 m", 512 * 1024 ** 2), (1048576, 1024 ** 3), ("1048576", 1024 ** 3), ("2048 KiB", 2 * 1024 ** 2),
    ("4096b", 4096), ("4096 bytes", 4096), ("1T", 1024 ** 4), ("1 TiB", 1024 ** 4), ("3KB", 3000),
])
def test_parse_size(value, nbytes):
    assert parse_size(value, "memory") == nbytes


@pytest.mark.parametrize("value, message", [
    ("-1G", "hard_limit: '-1G' is not valid: sizes cannot be negative"),
    (-5, "hard_limit: -5 is not valid: sizes cannot be negative"),
    ("8 parsecs", "hard_limit: 'parsecs' is not valid: unknown unit; use b, KiB/K, KB, MiB/M, MB, GiB/G, GB, TiB/T, TB"),
    ("lots", "hard_limit: 'lots' is not valid: expected a number with an optional unit, such as 8G or '512 MiB'"),
    (1.5, "hard_limit: 1.5 is not valid: expected a size such as 8G, '512 MiB' or a number of KiB"),
])
def test_parse_size_refusals(value, message):
    with pytest.raises(TuningError) as err:
        parse_size(value, "hard_limit")
    assert str(err.value) == message


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2 ** 30), st.sampled_from(["b", "KiB", "MiB", "GiB", "K", "M", "G", "KB", "MB"]))
def test_size_format_round_trip(number, unit):
    nbytes = parse_size("%d %s" % (number, unit))
    assert parse_size(format_size(nbytes)) == nbytes
