# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Under AnsiballZ, import this collection's module_utils from the module's zip compiling each file once.

A zip holds no bytecode, and Python 3.11's zipimport compiles a module twice: once to find its file
name (zipimporter.get_filename, asked by find_spec) and once to run it. A module imports this first; when
it runs from a zip, a finder for this collection's module_utils gives the file name itself, so that
each file is compiled once. Anywhere else (an installed collection, the unit tests) it does nothing.

The zip is new on every run, so Python keeps no bytecode of it: compiling these files is most of what a
module's own imports cost (about 30 ms of a single-area call). The finder's importer therefore keeps the
bytecode of each file in a cache directory, as Python does for installed modules: hash-checked .pyc files
(the source's hash is checked on every load, so an entry is used only for the very source it was compiled
from; a changed collection simply compiles again). The directory is PYTHONPYCACHEPREFIX's
``virtuned-libvirt`` when that is set, else ``$XDG_CACHE_HOME`` (or ``~/.cache``) ``/virtuned-libvirt/pycache``;
it is used only when it is a real directory owned by the user running the module, with no access for
others. Nothing is written when Python is told not to (PYTHONDONTWRITEBYTECODE, ``-B``).
"""

from __future__ import annotations

import marshal
import os
import sys
import zipimport

PACKAGE = __name__.rsplit(".", 1)[0]


def install():
    loader = globals().get("__loader__")
    if type(loader).__name__ != "zipimporter" or not getattr(loader, "archive", None):
        return
    if any(getattr(finder, "package", None) == PACKAGE for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, CompileOnceFinder(loader.archive))


CACHE_TAG = "virtuned-libvirt"


def cache_directory():
    """The bytecode cache directory (created 0700 if missing), or None when it is unsafe or unusable."""
    prefix = getattr(sys, "pycache_prefix", None)
    if prefix:
        path = os.path.join(prefix, CACHE_TAG)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = os.path.join(base, CACHE_TAG, "pycache")
    try:
        if not sys.dont_write_bytecode:
            os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.lstat(path)
    except OSError:
        return None
    import stat
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        return None
    return path


class CachingZipImporter(zipimport.zipimporter):
    """A zipimporter whose code comes from hash-checked .pyc files in ``cache`` when they match the source."""

    def __init__(self, path, cache):
        zipimport.zipimporter.__init__(self, path)
        self.cache = cache

    def get_code(self, fullname):
        if self.cache is None:
            return zipimport.zipimporter.get_code(self, fullname)
        import importlib.util
        origin = "%s/%s%s" % (self.archive, fullname.replace(".", "/"),
                              "/__init__.py" if self.is_package(fullname) else ".py")
        source = self.get_data(origin)
        digest = importlib.util.source_hash(source)
        entry = os.path.join(self.cache, "%s.%s.pyc" % (fullname, sys.implementation.cache_tag))
        header = importlib.util.MAGIC_NUMBER + (3).to_bytes(4, "little") + digest  # flags 3: checked hash
        try:
            with open(entry, "rb") as handle:
                data = handle.read()
            if data[:16] == header:
                code = marshal.loads(data[16:])
                _fix_filename(code, origin)
                return code
        except (OSError, ValueError, EOFError, TypeError):
            pass
        code = compile(source, origin, "exec", dont_inherit=True)
        if not sys.dont_write_bytecode:
            _write_entry(entry, header + marshal.dumps(code))
        return code


def _fix_filename(code, origin):
    """The code's file names say where the source is now (the zip of this run), as Python's own pycs do."""
    import _imp
    fix = getattr(_imp, "_fix_co_filename", None)
    if fix is not None:
        fix(code, origin)


def _write_entry(entry, data):
    """Write one cache entry atomically (a concurrent run reads the old entry or the new one, whole)."""
    import tempfile
    try:
        fd, temporary = tempfile.mkstemp(dir=os.path.dirname(entry), prefix=".tmp-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, entry)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


class CompileOnceFinder:
    """Specs for the submodules of PACKAGE found in ``archive``, with their location already given."""

    package = PACKAGE

    def __init__(self, archive):
        self.archive = archive
        self.importers = {}
        self.cache = cache_directory()

    def find_spec(self, name, path=None, target=None):
        if not name.startswith(PACKAGE + "."):
            return None
        from importlib.machinery import ModuleSpec
        directory = "/".join(name.split(".")[:-1])
        importer = self.importers.get(directory)
        if importer is None:
            importer = self.importers[directory] = CachingZipImporter("%s/%s/" % (self.archive, directory), self.cache)
        try:
            is_package = importer.is_package(name)
        except zipimport.ZipImportError:
            return None
        where = "%s/%s" % (self.archive, name.replace(".", "/"))
        spec = ModuleSpec(name, importer, origin=where + ("/__init__.py" if is_package else ".py"), is_package=is_package)
        spec.has_location = True
        if is_package:
            spec.submodule_search_locations = [where]
        return spec


install()
