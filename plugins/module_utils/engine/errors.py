# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors raised by the engine; modules turn them into fail_json messages."""

from __future__ import annotations


class TuningError(Exception):
    """A request that cannot be carried out.

    The message names the option, the value and the rule, so that modules can
    hand it to the user as it is.
    """


class LibvirtCallError(TuningError):
    """libvirt refused a call; the message says which call and why."""


def option_error(option, value, rule):
    """Build a TuningError in the house style: option, value, rule."""
    return TuningError("%s: %r is not valid: %s" % (option, value, rule))
