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


# 10 ** 20 needs 67 bits: an int with more bits has more than 20 digits (engine/limits.py MAX_DIGITS)
_MAX_BITS = 67
_LONG = 200  # longer strings are cut to their first _SHOWN characters
_SHOWN = 40


def shown(value):
    """A short, safe repr of ``value`` for messages: never converts a huge int to text (Python refuses
    ints of more than 4300 digits), and cuts long strings."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _MAX_BITS:
        return "<an integer of %d bits>" % value.bit_length()
    if isinstance(value, str) and len(value) > _LONG:
        return "%r... (%d characters)" % (value[:_SHOWN], len(value))
    if isinstance(value, (list, tuple, dict)):
        try:
            text = repr(value)
        except ValueError:  # a huge int inside
            return "<a %s holding a number too long to show>" % type(value).__name__
        return text if len(text) <= _LONG else text[:_LONG] + "... (%d characters)" % len(text)
    return repr(value)


def option_error(option, value, rule):
    """Build a TuningError in the house style: option, value, rule (the value shown safely and briefly)."""
    return TuningError("%s: %s is not valid: %s" % (option, shown(value), rule))
