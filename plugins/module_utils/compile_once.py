# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Under AnsiballZ, import this collection's module_utils from the module's zip compiling each file once.

A zip holds no bytecode, and Python 3.11's zipimport compiles a module twice: once to find its file
name (zipimporter.get_filename, asked by find_spec) and once to run it. A module imports this first; when
it runs from a zip, a finder for this collection's module_utils gives the file name itself, so that
each file is compiled once. Anywhere else (an installed collection, the unit tests) it does nothing.
"""

from __future__ import annotations

import sys

PACKAGE = __name__.rsplit(".", 1)[0]


def install():
    loader = globals().get("__loader__")
    if type(loader).__name__ != "zipimporter" or not getattr(loader, "archive", None):
        return
    if any(getattr(finder, "package", None) == PACKAGE for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, CompileOnceFinder(loader.archive))


class CompileOnceFinder:
    """Specs for the submodules of PACKAGE found in ``archive``, with their location already given."""

    package = PACKAGE

    def __init__(self, archive):
        self.archive = archive
        self.importers = {}

    def find_spec(self, name, path=None, target=None):
        if not name.startswith(PACKAGE + "."):
            return None
        import zipimport
        from importlib.machinery import ModuleSpec
        directory = "/".join(name.split(".")[:-1])
        importer = self.importers.get(directory)
        if importer is None:
            importer = self.importers[directory] = zipimport.zipimporter("%s/%s/" % (self.archive, directory))
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
