"""Every live operation and host action an area plans resolves to a LibvirtEdge method."""

import ast
import os

from ansible_collections.virtuned.libvirt.plugins.module_utils import areas as areas_package
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge import live_ops
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import LibvirtEdge


def names_used_by_areas():
    """(file, name) for every live_ops.NAME the area modules refer to."""
    used = []
    directory = os.path.dirname(areas_package.__file__)
    for filename in sorted(os.listdir(directory)):
        if not filename.endswith(".py"):
            continue
        with open(os.path.join(directory, filename)) as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "live_ops":
                used.append((filename, node.attr))
    return used


def test_every_name_in_the_tables_is_an_edge_method():
    for table in (live_ops.LIVE_OPS, live_ops.HOST_ACTIONS):
        for name, method in table.items():
            assert callable(getattr(LibvirtEdge, method, None)), (name, method)


def test_every_name_an_area_uses_is_in_a_table():
    used = names_used_by_areas()
    assert {filename for filename, _name in used} == {
        "boot_firmware.py", "cputune.py", "iothreads.py", "memory_devices.py", "memtune.py", "metadata.py", "numa.py",
        "vcpus.py"}
    tables = set(live_ops.LIVE_OPS) | set(live_ops.HOST_ACTIONS)
    for filename, attr in used:
        assert getattr(live_ops, attr) in tables, (filename, attr)


def test_live_operations_are_not_host_actions():
    assert not set(live_ops.LIVE_OPS) & set(live_ops.HOST_ACTIONS)
    assert not [method for method in live_ops.HOST_ACTIONS.values() if method.startswith("live_")]
