# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named, versioned numa_plan request profiles (data only).

A request names a profile (``dedicated`` means its newest version,
``dedicated@1`` a given one) and overrides any field. A profile's fields never
change once shipped: a change is a new version. docs/numa_profiles.md shows
the XML each profile leads to.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import option_error

PROFILES = {
    "dedicated": {
        1: {
            "description": "Each vCPU on a host CPU of its own, whole cores first; emulator threads float "
                           "over the guest's own CPUs; small pages.",
            "fields": {"cpu_policy": "dedicated", "thread_policy": "prefer", "emulator_threads": "share",
                       "iothread_policy": "share", "page_size": "small"},
        },
    },
    "dedicated-isolated-emulator": {
        1: {
            "description": "As dedicated, plus one more host CPU, on another core, for the emulator threads "
                           "and one for each I/O thread.",
            "fields": {"cpu_policy": "dedicated", "thread_policy": "prefer", "emulator_threads": "isolate",
                       "iothread_policy": "isolate", "page_size": "small"},
        },
    },
    "realtime": {
        1: {
            "description": "Each vCPU on a whole core of its own (siblings kept idle), emulator on a CPU of its "
                           "own, every vCPU but vCPU 0 under SCHED_FIFO priority 1, hugepages of the largest "
                           "size that fits.",
            "fields": {"cpu_policy": "dedicated", "thread_policy": "isolate", "emulator_threads": "isolate",
                       "iothread_policy": "isolate", "page_size": "large", "realtime_vcpus": "^0"},
        },
    },
    "nfv-hugepages": {
        1: {
            "description": "Guest vCPU pairs on host sibling pairs, emulator isolated, memory on 1 GiB pages "
                           "(the largest size that fits), one guest NUMA cell per host node used.",
            "fields": {"cpu_policy": "dedicated", "thread_policy": "require", "emulator_threads": "isolate",
                       "iothread_policy": "isolate", "page_size": "large"},
        },
    },
    "shared-balanced": {
        1: {
            "description": "vCPUs float over the shared CPUs of the node(s) they are placed on, memory bound "
                           "to those nodes; placement spreads guests by free memory.",
            "fields": {"cpu_policy": "shared", "thread_policy": "prefer", "emulator_threads": "share",
                       "iothread_policy": "share", "page_size": "small"},
        },
    },
}


def resolve_profile(name, option="profile"):
    """The fields of profile ``name`` ('dedicated' or 'dedicated@1'), as a new dict."""
    if not isinstance(name, str) or not name.strip():
        raise option_error(option, name, "expected a profile name: %s" % ", ".join(sorted(PROFILES)))
    base, _sep, version = name.strip().partition("@")
    if base not in PROFILES:
        raise option_error(option, name, "unknown profile; known: %s" % ", ".join(sorted(PROFILES)))
    versions = PROFILES[base]
    if version:
        if not version.isdigit() or int(version) not in versions:
            raise option_error(option, name, "profile %s has versions %s" % (base, ", ".join(str(v) for v in sorted(versions))))
        chosen = int(version)
    else:
        chosen = max(versions)
    return dict(versions[chosen]["fields"])
