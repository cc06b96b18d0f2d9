#!/usr/bin/env python3
"""Syntax-check the playbooks in the docs: every ```yaml block of docs/*.md and README.md that is a play list.

Usage: .venv/bin/python docs/check_examples.py [FILE.md ...]   (the collection must be on
ANSIBLE_COLLECTIONS_PATH or in .build/collections: `make collection`). Exit 1 when one fails.
"""

import glob
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)


def playbooks(path):
    """Yield (line number, text) of the YAML blocks of a Markdown file that are plays."""
    with open(path) as handle:
        text = handle.read()
    for match in BLOCK.finditer(text):
        body = match.group(1)
        data = yaml.safe_load(body)
        if isinstance(data, list) and data and all(isinstance(p, dict) and "hosts" in p for p in data):
            yield text.count("\n", 0, match.start()) + 1, body


def main(paths):
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".build", "collections"))
    failed = checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        inventory = os.path.join(tmp, "inventory")
        with open(inventory, "w") as handle:
            handle.write("[hypervisors]\nlocalhost ansible_connection=local\n")
        for path in paths:
            for line, body in playbooks(path):
                playbook = os.path.join(tmp, "play.yml")
                with open(playbook, "w") as handle:
                    handle.write(body)
                proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                                       "--syntax-check", "-i", inventory, playbook],
                                      capture_output=True, text=True, env=env)
                checked += 1
                if proc.returncode:
                    failed += 1
                    print("%s:%d: %s" % (os.path.relpath(path, ROOT), line, (proc.stderr or proc.stdout).strip()))
    print("docs playbooks: %d checked, %d failed" % (checked, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))) + [os.path.join(ROOT, "README.md")]))
