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
