# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The previous definition kept in a file before a change (option ``backup``)."""

from __future__ import annotations

import datetime
import os


def write_backup(directory, original_xml, name):
    """Write ``original_xml`` to a new file in ``directory`` (default: default_backup_dir()); its path."""
    directory = directory or default_backup_dir()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    name = (name or "domain").replace("/", "_")
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S.%f")
    path = os.path.join(directory, "%s.%s.xml" % (name, stamp))
    # The backup holds the whole definition, secrets included: readable by its owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(original_xml)
    return path


def default_backup_dir():
    if os.geteuid() == 0:
        return "/var/lib/virtuned-libvirt/backups"
    return os.path.join(os.path.expanduser("~"), ".cache", "virtuned-libvirt", "backups")
