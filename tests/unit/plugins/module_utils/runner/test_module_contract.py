"""The common options: documented once (doc_fragments/domain_tuning.py), the same as COMMON_ARGSPEC."""

import yaml

from ansible_collections.virtuned.libvirt.plugins.doc_fragments.domain_tuning import ModuleDocFragment
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.module import COMMON_ARGSPEC


def test_doc_fragment_options_are_the_common_argspec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    shown = {name: {key: value for key, value in option.items() if key in ("type", "default", "choices", "aliases")}
             for name, option in documented.items()}
    assert shown == COMMON_ARGSPEC
