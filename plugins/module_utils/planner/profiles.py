# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named, versioned, composable numa_plan request profiles.

A profile is request defaults with a name and a version. The collection's own profiles
(builtin_profiles.py) and the user's (numa_plan's ``profiles`` option, the role's
``numa_pinning_profiles``) are loaded the same way:

    profiles:
      db:                      # one version: a dict
        version: 2
        description: Database guests
        extends: dedicated@1   # a reference or a list of them, applied first
        page_size: 1G
      web:                     # several versions: a list of dicts
        - {version: 1, cpu_policy: shared}
        - {version: 2, cpu_policy: shared, strategy: spread}

A request's ``profile`` is a reference (``db``: the newest version, ``db@2``: that one) or a
list of references composed in order: later entries win, and the request wins over every
profile. The resolved references (``db@2``, or ``dedicated@1,db@2`` for a list) are what the
plan records for the guest, so that a re-plan after an upgrade can ask for the same versions.
A shipped version never changes; a change is a new version. docs/numa_profiles.md.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner import builtin_profiles

PROFILE_KEYS = ("version", "description", "extends")


class Profile:
    __slots__ = ("name", "version", "description", "extends", "fields", "builtin")

    def __init__(self, name, version, description, extends, fields, builtin):
        self.name = name
        self.version = version
        self.description = description
        self.extends = extends
        self.fields = fields
        self.builtin = builtin


def parse_reference(ref, option):
    """'db' -> ('db', None); 'db@2' -> ('db', 2)."""
    if not isinstance(ref, str) or not ref.strip():
        raise option_error(option, ref, "expected a profile name, name@version, or a list of them")
    base, sep, version = ref.strip().partition("@")
    if sep and not version.isdigit():
        raise option_error(option, ref, "a version is a whole number: name@2")
    return base.strip(), (int(version) if sep else None)


def references(value, option):
    """A profile option value (a reference, a comma-separated string or a list) as [(name, version)]."""
    if isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, str):
        items = value.split(",")
    else:
        items = [value]
    if not items:
        raise option_error(option, value, "expected a profile name, name@version, or a list of them")
    return [parse_reference(item, option) for item in items]


def recorded_versions(value, option="existing.profile"):
    """{name: version} from a recorded profile string ('dedicated@1,db@2')."""
    if value in (None, ""):
        return {}
    return dict((name, version) for name, version in references(value, option) if version is not None)


class ProfileLibrary:
    """Built-in and user profiles by name and version, resolved into request fields."""

    def __init__(self, user=None, fields=(), option="profiles"):
        self.fields = tuple(fields)
        self.profiles = {}
        self._load(builtin_profiles.PROFILES, "built-in profiles", builtin=True)
        if user is not None:
            if not isinstance(user, dict):
                raise option_error(option, user, "expected a dict of profile name: {version, description, "
                                                 "extends, request fields}")
            clash = sorted(set(user) & set(self.profiles))
            if clash:
                raise option_error("%s[%s]" % (option, clash[0]), clash[0],
                                   "a built-in profile has this name; choose another (built-in: %s)"
                                   % ", ".join(sorted(builtin_profiles.PROFILES)))
            self._load(user, option, builtin=False)
        for name in sorted(self.profiles):
            for version in sorted(self.profiles[name]):
                # every reference resolves, with no cycle: checked once, before any guest
                self._fields(name, version, (), "%s[%s]" % (option, name))

    def _load(self, data, option, builtin):
        for name in sorted(data, key=str):
            where = "%s[%s]" % (option, name)
            if not isinstance(name, str) or not name or "@" in name or "," in name:
                raise option_error(option, name, "a profile name is a non-empty string without '@' or ','")
            entries = data[name] if isinstance(data[name], list) else [data[name]]
            versions = {}
            for index, entry in enumerate(entries):
                e_where = where if not isinstance(data[name], list) else "%s[%d]" % (where, index)
                if not isinstance(entry, dict):
                    raise option_error(e_where, entry, "a profile is a dict: version, description, extends and "
                                                       "request fields")
                version = entry.get("version")
                if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                    raise option_error(e_where + ".version", version, "every profile needs a version, a whole "
                                                                      "number from 1")
                if version in versions:
                    raise option_error(e_where + ".version", version, "profile %s has version %d twice"
                                       % (name, version))
                unknown = sorted(set(entry) - set(PROFILE_KEYS) - set(self.fields))
                if unknown:
                    raise option_error(e_where, unknown, "unknown fields; a profile takes %s and the request "
                                                         "fields %s" % (", ".join(PROFILE_KEYS),
                                                                        ", ".join(self.fields)))
                extends = entry.get("extends")
                versions[version] = Profile(
                    name, version, entry.get("description") or "",
                    references(extends, e_where + ".extends") if extends not in (None, [], "") else [],
                    dict((k, v) for k, v in entry.items() if k not in PROFILE_KEYS and v is not None), builtin)
            self.profiles[name] = versions

    def known(self):
        return ", ".join(sorted(self.profiles))

    def version_of(self, name, version, option):
        if name not in self.profiles:
            raise option_error(option, name if version is None else "%s@%d" % (name, version),
                               "unknown profile; known: %s" % self.known())
        versions = self.profiles[name]
        if version is None:
            return max(versions)
        if version not in versions:
            raise option_error(option, "%s@%d" % (name, version), "profile %s has versions %s"
                               % (name, ", ".join(str(v) for v in sorted(versions))))
        return version

    def _fields(self, name, version, stack, option):
        if (name, version) in stack:
            chain = " -> ".join("%s@%d" % item for item in stack + ((name, version),))
            raise option_error(option, "%s@%d" % (name, version), "profiles extend each other in a cycle: %s" % chain)
        profile = self.profiles[name][version]
        fields = {}
        for base, base_version in profile.extends:
            chosen = self.version_of(base, base_version, option + ".extends")
            fields.update(self._fields(base, chosen, stack + ((name, version),), option))
        fields.update(profile.fields)
        return fields

    def resolve(self, value, option="profile", pinned=None):
        """(request fields, recorded references) of a profile value; later entries win.

        ``pinned`` ({name: version}, what a guest recorded) gives the version of a reference
        that names none.
        """
        fields, recorded = {}, []
        for name, version in references(value, option):
            if version is None and pinned and name in pinned and name in self.profiles \
                    and pinned[name] in self.profiles[name]:
                version = pinned[name]
            chosen = self.version_of(name, version, option)
            fields.update(self._fields(name, chosen, (), option))
            recorded.append("%s@%d" % (name, chosen))
        return fields, ",".join(recorded)

    def describe(self):
        """Every profile version: {name, version, description, builtin, fields (resolved)}."""
        return [{"name": name, "version": version, "description": self.profiles[name][version].description,
                 "builtin": self.profiles[name][version].builtin,
                 "fields": self._fields(name, version, (), "profiles")}
                for name in sorted(self.profiles) for version in sorted(self.profiles[name])]


_BUILTIN = {}


def resolve_profile(name, option="profile"):
    """The fields of built-in profile ``name`` ('dedicated' or 'dedicated@1'), as a new dict."""
    if "library" not in _BUILTIN:
        from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import PROFILE_FIELDS
        _BUILTIN["library"] = ProfileLibrary(fields=PROFILE_FIELDS)
    return _BUILTIN["library"].resolve(name, option)[0]


# compatibility: name -> {version: {description, fields}} of the built-in profiles
PROFILES = dict((name, dict((entry["version"], {"description": entry["description"], "fields": dict(
    (k, v) for k, v in entry.items() if k not in PROFILE_KEYS)}) for entry in entries))
    for name, entries in builtin_profiles.PROFILES.items())
