"""Field paths may name namespaced elements ({uri}tag), as <metadata> needs: read, written, removed."""

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import (
    ensure_path, find_path, parse_xml, split_last_step, to_string,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import Attr, Items, Str

OWN = "urn:virtuned.libvirt:tuning:1"
WEB = "http://example.org/app/1"  # a URI with '/' in it


def test_a_slash_inside_a_namespace_uri_does_not_split_the_path():
    assert split_last_step("metadata/{%s}app/{%s}item" % (WEB, WEB)) == ("metadata/{%s}app" % WEB, "{%s}item" % WEB)
    assert split_last_step("metadata/{%s}tuning" % OWN) == ("metadata", "{%s}tuning" % OWN)
    assert split_last_step("cputune/vcpupin") == ("cputune", "vcpupin")
    assert split_last_step("vcpupin") == (None, "vcpupin")


def test_find_and_ensure_namespaced_steps():
    root = parse_xml("<domain><metadata><a:app xmlns:a='%s'><a:item n='1'/></a:app></metadata></domain>" % WEB)
    assert find_path(root, "metadata/{%s}app/{%s}item" % (WEB, WEB)).get("n") == "1"
    assert find_path(root, "metadata/{%s}tuning" % OWN) is None
    ensure_path(root, "metadata/{%s}tuning" % OWN)
    # the collection's own namespace gets its own prefix, not lxml's ns0
    assert to_string(root) == ("<domain><metadata><a:app xmlns:a=\"%s\"><a:item n=\"1\"/></a:app>"
                               "<virtuned:tuning xmlns:virtuned=\"%s\"/></metadata></domain>" % (WEB, OWN))


def test_an_attribute_of_a_namespaced_element_is_written_and_removed_alone():
    field = Attr("profile", "profile", Str(), path="metadata/{%s}tuning" % OWN)
    root = parse_xml("<domain><name>g</name><metadata><a:app xmlns:a='%s'/></metadata></domain>" % WEB)
    assert field.read(root) is None
    field.write(root, "db@2")
    assert field.read(root) == "db@2"
    assert to_string(root) == ("<domain><name>g</name><metadata><a:app xmlns:a=\"%s\"/>"
                               "<virtuned:tuning xmlns:virtuned=\"%s\" profile=\"db@2\"/></metadata></domain>"
                               % (WEB, OWN))
    field.write(root, None)
    assert to_string(root) == "<domain><name>g</name><metadata><a:app xmlns:a=\"%s\"/></metadata></domain>" % WEB
    # alone in <metadata>: the emptied <metadata> goes too
    alone = parse_xml("<domain><name>g</name></domain>")
    field.write(alone, "db@2")
    assert to_string(alone) == ("<domain><name>g</name><metadata><virtuned:tuning xmlns:virtuned=\"%s\" "
                                "profile=\"db@2\"/></metadata></domain>" % OWN)
    field.write(alone, None)
    assert to_string(alone) == "<domain><name>g</name></domain>"


def test_items_of_a_namespace_whose_uri_holds_slashes():
    items = Items("entries", "metadata/{%s}app/{%s}item" % (WEB, WEB), [Attr("n", "n", Str())], key="n")
    root = parse_xml("<domain><metadata><a:app xmlns:a='%s'><a:item n='1'/></a:app></metadata></domain>" % WEB)
    assert items.read(root) == [{"n": "1"}]
    items.write(root, [{"n": "1"}, {"n": "2"}])
    assert items.read(root) == [{"n": "1"}, {"n": "2"}]
    assert to_string(root) == ("<domain><metadata><a:app xmlns:a=\"%s\"><a:item n=\"1\"/><a:item n=\"2\"/></a:app>"
                               "</metadata></domain>" % WEB)
