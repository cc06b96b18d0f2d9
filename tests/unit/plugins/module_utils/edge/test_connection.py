"""The libvirt edge's pure parts: URI redaction, secrets, locality."""

import pytest

from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import (
    LibvirtEdge, redact_uri, uri_secrets,
)


@pytest.mark.parametrize("uri, shown, secrets", [
    ("qemu:///system", "qemu:///system", []),
    ("qemu+ssh://root@hv1/system", "qemu+ssh://***@hv1/system", []),
    ("qemu+tcp://admin:hunter2@hv1:16509/system", "qemu+tcp://***@hv1:16509/system", ["hunter2"]),
    ("qemu+ssh://hv1/system?keyfile=/root/.ssh/id&socket=/run/x", "qemu+ssh://hv1/system?keyfile=***&socket=/run/x", []),
    ("esx://hv1/?no_verify=1&password=s3cret", "esx://hv1/?no_verify=1&password=***", ["s3cret"]),
])
def test_uri_redaction_and_secrets(uri, shown, secrets):
    assert redact_uri(uri) == shown
    assert uri_secrets(uri) == secrets


@pytest.mark.parametrize("uri, local", [
    ("qemu:///system", True), ("qemu:///session", True), ("test:///default", True),
    ("qemu+ssh://root@hv2/system", False), ("qemu+tcp://localhost/system", True), ("qemu+tcp://127.0.0.1:16509/system", True),
])
def test_is_local(uri, local):
    edge = LibvirtEdge.__new__(LibvirtEdge)  # no connection needed for this question
    edge.uri = uri
    assert edge.is_local() is local


@pytest.mark.parametrize("uri, shown, secrets", [
    # passwords with unencoded '@', '/', '?', ':' and '&' (issue 9): hidden whole, in the text and in no_log
    ("qemu+tcp://admin:p@ss@hv1/system", "qemu+tcp://***@hv1/system", ["p@ss"]),
    ("qemu+tcp://admin:pa/ss@hv1:16509/system", "qemu+tcp://***@hv1:16509/system", ["pa/ss"]),
    ("qemu+tcp://admin:a?b/c@d@[::1]:16509/system", "qemu+tcp://***@[::1]:16509/system", ["a?b/c@d"]),
    ("qemu+tcp://admin:x:y@hv1/system", "qemu+tcp://***@hv1/system", ["x:y"]),
    ("qemu+tcp://admin:%40t%2F@hv1/system", "qemu+tcp://***@hv1/system", ["%40t%2F", "@t/"]),
    ("esx://hv1/?password=a&b&no_verify=1", "esx://hv1/?password=***&no_verify=1", ["a&b"]),
    ("esx://hv1/?password=se@cret", "esx://***", ["se@cret"]),
    ("qemu+ssh://root@hv1/system?keyfile=/root/id@x", "qemu+ssh://***", []),
])
def test_uri_redaction_whatever_characters_the_secret_holds(uri, shown, secrets):
    assert redact_uri(uri) == shown
    assert uri_secrets(uri) == secrets
    for secret in secrets:
        assert secret not in redact_uri(uri)


def test_connect_failure_shows_no_piece_of_the_password():
    pytest.importorskip("libvirt")
    from conftest import run_module
    # libvirt's own URI parser splits this password at its '@' and names 'ss' as the host it cannot resolve
    result = run_module("memtune", {"name": "x", "uri": "qemu+tcp://admin:p@ss/w0rd@127.0.0.1:1/system",
                                    "soft_limit": "1G"})
    assert result["failed"] is True
    # the resolver's own words vary between hosts; what is asserted is that no piece of the password is left
    prefix = "uri: cannot connect to qemu+tcp://***@127.0.0.1:1/system: "
    assert result["msg"].startswith(prefix)
    for piece in ("p@ss", "'ss'", "w0rd", "'p'"):
        assert piece not in result["msg"]


def test_scrub_uri_secrets_hides_pieces_as_whole_words_only():
    from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import scrub_uri_secrets
    uri = "qemu+tcp://admin:p@ss/w0rd@hv1/system"
    assert scrub_uri_secrets("Unable to resolve address 'ss' (p@ss/w0rd); see address w0rd", uri) == \
        "Unable to resolve address '***' (***); see address ***"


@pytest.mark.parametrize("key", ["name", "uuid"])
def test_lookup_with_a_nul_character_is_refused_not_a_traceback(key):
    pytest.importorskip("libvirt")
    from conftest import run_module
    result = run_module("memtune", {key: "vt\x00x", "uri": "test:///default", "soft_limit": "1G"})
    assert result["msg"] == "%s: 'vt\\x00x' is not valid: it holds a NUL character, which no domain %s has" % (key, key)
