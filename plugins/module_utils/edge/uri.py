# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt connection URIs: the default, and their secrets hidden or listed (no libvirt import).

Every module masks the URI's credentials before it does anything else; this is all it needs for that,
so that a module importing it pays neither the libvirt binding nor the connection code.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

DEFAULT_URI = "qemu:///system"
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*://)", re.IGNORECASE)
# What may follow the '@' that ends the user info: a host (name, IPv4, [IPv6]) and port, then the path
_HOST_AFTER = re.compile(r"^[A-Za-z0-9._~%:\[\]-]*(?:[/?#]|$)")
# Query parameters that hold secrets or name files that do; libvirt's own names (virConnectOpen URIs)
_SECRET_PARAMS = ("password", "passwd", "pass", "authfile", "keyfile")
_QUERY_PARAMS = ("name", "command", "socket", "netcat", "keyfile", "no_verify", "no_tty", "pkipath",
                 "known_hosts", "known_hosts_verify", "sshauth", "mode", "proxy", "tls_priority", "authfile",
                 "password", "passwd", "pass", "transport", "gateway", "auto_answer", "no_verify")


def _userinfo_span(uri):
    """(start, end) of the user info of ``uri`` (without its '@'), or None.

    Passwords may hold unencoded '@', '/', '?' or ':': the user info ends at the LAST '@' that a
    plausible host follows, so a secret is hidden whole (at worst, more than the secret is hidden).
    """
    match = _SCHEME.match(uri)
    if not match:
        return None
    start = match.end()
    for position in range(len(uri) - 1, start - 1, -1):
        if uri[position] == "@" and _HOST_AFTER.match(uri[position + 1:]):
            return start, position
    return None


def _secret_params(uri):
    """(name, value start, value end) for each secret query parameter; a value runs to the next '&'
    that starts a known libvirt parameter (a password may itself hold '&'), else to the end."""
    found = []
    pattern = re.compile(r"[?&](%s)=" % "|".join(_SECRET_PARAMS), re.IGNORECASE)
    following = re.compile(r"&(?:%s)=" % "|".join(_QUERY_PARAMS), re.IGNORECASE)
    for match in pattern.finditer(uri):
        rest = following.search(uri, match.end())
        found.append((match.group(1), match.end(), rest.start() if rest else len(uri)))
    return found


def default_uri():
    return os.environ.get("LIBVIRT_DEFAULT_URI") or DEFAULT_URI


def redact_uri(uri):
    """A URI safe to print: user info and secret query parameters hidden, whatever characters they hold."""
    text = uri or ""
    spans = [(start, end) for _name, start, end in _secret_params(text)]
    userinfo = _userinfo_span(text)
    if userinfo is not None:
        spans.append(userinfo)
    merged = []  # overlapping spans (a password holding '@' or '?password=') are hidden as one
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + "***" + text[end:]
    return text


def uri_secrets(uri):
    """The parts of a URI that must never appear in output (for no_log_values), raw and percent-decoded."""
    text = uri or ""
    secrets = []
    userinfo = _userinfo_span(text)
    if userinfo is not None:
        info = text[userinfo[0]:userinfo[1]]
        if ":" in info:
            secrets.append(info.split(":", 1)[1])
    for name, start, end in _secret_params(text):
        if name.lower() in ("password", "passwd", "pass"):
            secrets.append(text[start:end])
    decoded = [unquote(secret) for secret in secrets]
    result = []
    for secret in secrets + decoded:
        if secret and secret not in result:
            result.append(secret)
    return result


def scrub_uri_secrets(text, uri):
    """``text`` (a libvirt error message) without the URI's secrets, nor the pieces of them libvirt's own
    URI parser may show when it splits a password that holds '@', '/' or ':' (as a host name, say)."""
    secrets = uri_secrets(uri)
    pieces = set(secrets)
    for secret in secrets:
        pieces.update(piece for piece in re.split(r"[@/:?#&]", secret) if piece)
    for piece in sorted(pieces, key=len, reverse=True):
        text = re.sub(r"(?<![A-Za-z0-9])%s(?![A-Za-z0-9])" % re.escape(piece), "***", text)
    return text
