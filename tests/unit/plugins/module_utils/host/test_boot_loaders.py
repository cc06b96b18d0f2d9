# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel arguments owned by a role: parsing, grub drop-ins, grubby commands, reboot detection."""

from __future__ import annotations

import os

import pytest
from conftest import run_module
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.kernel_cmdline import (
    check_request, grub_cfg_args, grub_default_args, grub_dropin_text, grubby_commands, owned,
    parse_grubby_info, reboot_required, split_args)
from ansible_collections.virtuned.libvirt.plugins.module_utils.host import boot_loaders as module_code

KEYS = ["isolcpus", "nohz_full", "rcu_nocbs", "irqaffinity"]


# --- pure parsing ---------------------------------------------------------------------------------

def test_split_args_quotes_and_init_args():
    assert split_args('ro  quiet dyndbg="file x.c +p" isolcpus=2-3 -- single --foo') == [
        "ro", "quiet", 'dyndbg="file x.c +p"', "isolcpus=2-3"]
    assert split_args("") == []
    assert split_args(None) == []


@given(st.lists(st.from_regex(r"\A[a-z_]{1,8}(=[a-z0-9,.-]{1,8})?\Z"), max_size=8))
def test_split_args_round_trip(args):
    assert split_args("  ".join(args)) == list(args)


def test_owned_keeps_order_and_repeats():
    args = ["ro", "hugepagesz=1G", "hugepages=4", "quiet", "hugepagesz=2M", "hugepages=512"]
    assert owned(args, ["hugepagesz", "hugepages"]) == [
        "hugepagesz=1G", "hugepages=4", "hugepagesz=2M", "hugepages=512"]


def test_grub_default_args_evaluates_assignments_in_order():
    base = 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="console=ttyS0"\n'
    cloud = "export GRUB_CMDLINE_LINUX_DEFAULT='net.ifnames=0'  \n# GRUB_CMDLINE_LINUX=nope\n"
    ours = grub_dropin_text("90-x", ["isolcpus=2-3", "nohz_full=2-3"])
    assert grub_default_args([base]) == ["console=ttyS0", "quiet"]
    assert grub_default_args([base, cloud, ours]) == [
        "console=ttyS0", "net.ifnames=0", "isolcpus=2-3", "nohz_full=2-3"]
    # ${VAR:+...} leaves no leading space when the variable was empty
    assert grub_default_args([ours]) == ["isolcpus=2-3", "nohz_full=2-3"]
    assert grub_default_args(['GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX a=1"', 'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} b"']) == ["a=1", "b"]


def test_grub_dropin_text_exact():
    assert grub_dropin_text("90-virtuned-numa-pinning", ["isolcpus=1"]) == (
        "# Managed by virtuned.libvirt (90-virtuned-numa-pinning): kernel arguments it owns. "
        "Changes here are overwritten.\n"
        'GRUB_CMDLINE_LINUX_DEFAULT="${GRUB_CMDLINE_LINUX_DEFAULT:+$GRUB_CMDLINE_LINUX_DEFAULT }isolcpus=1"\n')


def test_grub_cfg_args_first_linux_line():
    cfg = ("menuentry 'Debian' {\n\tlinux\t/vmlinuz-6.1 root=UUID=abc ro quiet isolcpus=1\n}\n"
           "menuentry 'recovery' {\n\tlinux /vmlinuz-6.1 root=UUID=abc ro single\n}\n")
    assert grub_cfg_args(cfg) == ["root=UUID=abc", "ro", "quiet", "isolcpus=1"]
    assert grub_cfg_args("set timeout=5\n") is None


def test_parse_grubby_info():
    info = ('index=0\nkernel="/boot/vmlinuz-5.14"\nargs="ro crashkernel=auto isolcpus=2"\nroot="/dev/vda1"\n'
            'index=1\nkernel="/boot/vmlinuz-5.13"\nargs="ro"\n')
    assert parse_grubby_info(info) == [["ro", "crashkernel=auto", "isolcpus=2"], ["ro"]]


def test_grubby_commands():
    kernels = [["ro", "isolcpus=2"], ["ro"]]
    assert grubby_commands(kernels, ["isolcpus=2-3"], KEYS) == [
        ["--update-kernel=ALL", "--remove-args=isolcpus=2"], ["--update-kernel=ALL", "--args=isolcpus=2-3"]]
    assert grubby_commands([["ro", "isolcpus=2-3"]] * 2, ["isolcpus=2-3"], KEYS) == []
    assert grubby_commands([["ro", "isolcpus=2-3", "nohz_full=2-3"]], [], KEYS) == [
        ["--update-kernel=ALL", "--remove-args=isolcpus=2-3 nohz_full=2-3"]]
    assert grubby_commands([["ro"]], [], KEYS) == []


def test_reboot_required():
    assert reboot_required(["ro", "isolcpus=1"], ["isolcpus=1"], KEYS) is False
    assert reboot_required(["ro"], ["isolcpus=1"], KEYS) is True
    assert reboot_required(["ro", "isolcpus=1"], [], KEYS) is True


def test_check_request():
    assert check_request("x", ["isolcpus=managed_irq,domain,1", "nosmt"], None) == (
        ["isolcpus=managed_irq,domain,1", "nosmt"], ["isolcpus", "nosmt"])
    assert check_request("x", [], KEYS) == ([], KEYS)
    with pytest.raises(TuningError) as err:
        check_request("x", ["isolcpus=1 2"], KEYS)
    assert str(err.value) == ("args: 'isolcpus=1 2' is not valid: a kernel argument is 'key' or 'key=value' "
                              "without spaces, quotes or '$'")
    with pytest.raises(TuningError) as err:
        check_request("x", ["nosmt"], KEYS)
    assert str(err.value) == ("args: 'nosmt' is not valid: its key 'nosmt' is not in keys isolcpus, nohz_full, "
                              "rcu_nocbs, irqaffinity")
    with pytest.raises(TuningError, match="^name: '../x' is not valid"):
        check_request("../x", [], KEYS)
    with pytest.raises(TuningError, match="^keys: 'a=b' is not valid"):
        check_request("x", [], ["a=b"])


# --- the module's grub and grubby paths on a fake root --------------------------------------------

class FakeModule:
    """Stands in for AnsibleModule.run_command; emulates update-grub and grubby on the fake root."""

    def __init__(self, root, kernels=2):
        self.root = root
        self.calls = []
        self.grubby_args = [["ro", "crashkernel=auto"] for index in range(kernels)]

    def run_command(self, argv):
        assert argv[:2] == ["chroot", self.root]
        argv = argv[2:]
        self.calls.append(argv)
        if argv[0].endswith("update-grub"):
            texts = [open(os.path.join(self.root, "etc/default/grub")).read()]
            directory = os.path.join(self.root, "etc/default/grub.d")
            for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
                texts.append(open(os.path.join(directory, name)).read())
            os.makedirs(os.path.join(self.root, "boot/grub"), exist_ok=True)
            with open(os.path.join(self.root, "boot/grub/grub.cfg"), "w") as handle:
                handle.write("linux /vmlinuz root=/dev/vda1 %s\n" % " ".join(grub_default_args(texts)))
            return 0, "", ""
        if argv[0].endswith("grubby"):
            if argv[1] == "--info=ALL":
                return 0, "".join('index=%d\nargs="%s"\n' % (i, " ".join(a)) for i, a in enumerate(self.grubby_args)), ""
            option, value = argv[2].split("=", 1)
            for kernel in self.grubby_args:
                if option == "--remove-args":
                    keys = set(a.split("=", 1)[0] for a in value.split())
                    kernel[:] = [a for a in kernel if a.split("=", 1)[0] not in keys]
                else:
                    kernel.extend(value.split())
            return 0, "", ""
        return 127, "", "unknown tool"


def make_root(tmp_path, tools=("update-grub",), cmdline="ro quiet"):
    root = str(tmp_path)
    for tool in tools:
        path = os.path.join(root, "usr/sbin", tool)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write("#!/bin/sh\n")
        os.chmod(path, 0o755)
    os.makedirs(os.path.join(root, "etc/default/grub.d"), exist_ok=True)
    os.makedirs(os.path.join(root, "proc"), exist_ok=True)
    with open(os.path.join(root, "etc/default/grub"), "w") as handle:
        handle.write('GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n')
    with open(os.path.join(root, "proc/cmdline"), "w") as handle:
        handle.write(cmdline + "\n")
    return root


def run_grub(module, args, check_mode=False):
    target = module_code.BootTarget(module.run_command, module.root)
    result = dict(changed=False, commands=[], warnings=[])
    module_code.grub(target, "90-virtuned-test", args, KEYS, check_mode, result)
    return result


def test_grub_writes_dropin_updates_then_is_idempotent(tmp_path):
    module = FakeModule(make_root(tmp_path))
    dropin = tmp_path / "etc/default/grub.d/90-virtuned-test.cfg"
    first = run_grub(module, ["isolcpus=1", "nohz_full=1"], check_mode=True)
    assert first["changed"] is True and not dropin.exists() and module.calls == []
    first = run_grub(module, ["isolcpus=1", "nohz_full=1"])
    assert first["changed"] is True
    assert first["commands"] == [["/usr/sbin/update-grub"]]
    assert first["boot_args"] == ["isolcpus=1", "nohz_full=1"]
    assert dropin.read_text() == grub_dropin_text("90-virtuned-test", ["isolcpus=1", "nohz_full=1"])
    assert (tmp_path / "boot/grub/grub.cfg").read_text() == "linux /vmlinuz root=/dev/vda1 quiet isolcpus=1 nohz_full=1\n"
    second = run_grub(module, ["isolcpus=1", "nohz_full=1"])
    assert second["changed"] is False and second["commands"] == []
    assert len(module.calls) == 1


def test_grub_reruns_update_when_grub_cfg_is_stale(tmp_path):
    module = FakeModule(make_root(tmp_path))
    run_grub(module, ["isolcpus=1"])
    (tmp_path / "boot/grub/grub.cfg").write_text("linux /vmlinuz root=/dev/vda1 quiet\n")
    result = run_grub(module, ["isolcpus=1"])
    assert result["changed"] is True and result["commands"] == [["/usr/sbin/update-grub"]]


def test_grub_removing_everything_removes_the_dropin(tmp_path):
    module = FakeModule(make_root(tmp_path))
    run_grub(module, ["isolcpus=1"])
    result = run_grub(module, [])
    assert result["changed"] is True and result["boot_args"] == []
    assert not (tmp_path / "etc/default/grub.d/90-virtuned-test.cfg").exists()
    assert (tmp_path / "boot/grub/grub.cfg").read_text() == "linux /vmlinuz root=/dev/vda1 quiet\n"
    assert run_grub(module, [])["changed"] is False


def test_grub_arguments_already_in_base_config_not_written_again(tmp_path):
    root = make_root(tmp_path)
    (tmp_path / "etc/default/grub").write_text('GRUB_CMDLINE_LINUX_DEFAULT="quiet isolcpus=1"\n')
    module = FakeModule(root)
    result = run_grub(module, ["isolcpus=1"])
    assert result["changed"] is False and result["boot_args"] == ["isolcpus=1"]
    assert not (tmp_path / "etc/default/grub.d/90-virtuned-test.cfg").exists()


def test_grub_warns_about_owned_arguments_it_cannot_remove(tmp_path):
    root = make_root(tmp_path)
    (tmp_path / "etc/default/grub").write_text('GRUB_CMDLINE_LINUX="isolcpus=3"\n')
    result = run_grub(FakeModule(root), ["isolcpus=1"])
    assert result["boot_args"] == ["isolcpus=3", "isolcpus=1"]
    assert result["warnings"] == ["/etc/default/grub or another drop-in also sets isolcpus=3; this module does not "
                                  "edit them"]


def run_grubby(module, args, check_mode=False):
    target = module_code.BootTarget(module.run_command, module.root)
    result = dict(changed=False, commands=[], warnings=[])
    module_code.grubby(target, args, KEYS, check_mode, result)
    return result


def test_grubby_adds_replaces_removes_idempotently(tmp_path):
    module = FakeModule(make_root(tmp_path, tools=("grubby",)))
    module.grubby_args[1].append("isolcpus=5")
    check = run_grubby(module, ["isolcpus=1"], check_mode=True)
    assert check["changed"] is True and module.grubby_args[1] == ["ro", "crashkernel=auto", "isolcpus=5"]
    result = run_grubby(module, ["isolcpus=1"])
    assert result["commands"] == [["/usr/sbin/grubby", "--update-kernel=ALL", "--remove-args=isolcpus=5"],
                                  ["/usr/sbin/grubby", "--update-kernel=ALL", "--args=isolcpus=1"]]
    assert module.grubby_args == [["ro", "crashkernel=auto", "isolcpus=1"]] * 2
    assert run_grubby(module, ["isolcpus=1"])["changed"] is False
    run_grubby(module, [])
    assert module.grubby_args == [["ro", "crashkernel=auto"]] * 2


def test_grubby_missing_is_a_clear_error(tmp_path):
    module = FakeModule(make_root(tmp_path, tools=()))
    with pytest.raises(TuningError, match="^bootloader: 'grubby' is not valid here: grubby is not installed under "):
        run_grubby(module, ["isolcpus=1"])


# --- the module as Ansible runs it ----------------------------------------------------------------

def test_module_none_reports_reboot_required(tmp_path):
    root = make_root(tmp_path, tools=(), cmdline="ro quiet isolcpus=1 -- init-arg")
    result = run_module("kernel_cmdline", {"name": "90-test", "args": ["isolcpus=1", "nohz_full=1"],
                                           "keys": KEYS, "bootloader": "none", "root": root})
    assert result == {"changed": False, "commands": [], "bootloader": "none", "args": ["isolcpus=1", "nohz_full=1"],
                      "keys": KEYS, "boot_args": ["isolcpus=1", "nohz_full=1"], "cmdline_args": ["isolcpus=1"],
                      "reboot_required": True}


def test_module_auto_without_tools(tmp_path):
    root = make_root(tmp_path, tools=())
    os.remove(os.path.join(root, "etc/default/grub"))
    nothing = run_module("kernel_cmdline", {"name": "90-test", "args": [], "keys": KEYS, "root": root})
    assert nothing["bootloader"] == "none" and nothing["changed"] is False and nothing["reboot_required"] is False
    failed = run_module("kernel_cmdline", {"name": "90-test", "args": ["isolcpus=1"], "root": root})
    assert failed["failed"] is True
    assert failed["msg"] == ("bootloader: 'auto' found neither grubby nor update-grub under %s; set bootloader to grub "
                             "or grubby, or to none to compute the arguments only" % root)


def test_module_refuses_bad_arguments_before_anything(tmp_path):
    root = make_root(tmp_path)
    result = run_module("kernel_cmdline", {"name": "90-test", "args": ["isolcpus=$(reboot)"], "root": root})
    assert result["failed"] is True
    assert result["msg"].startswith("args: 'isolcpus=$(reboot)' is not valid")
    assert os.listdir(os.path.join(root, "etc/default/grub.d")) == []
