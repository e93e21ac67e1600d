""".vmx parsing and editing: real-looking files survive byte for byte, an edit changes one line.

Fixtures (tests/backends/workstation/files/vmx): a CentOS 6.5 VM as Workstation 12 writes it (with a
user's comment), a Windows 7 VM with four adapters and mixed-case keys, and a VM saved with CRLF
line ends, UTF-8 and |XX escapes (|22 quote, |0D|0A newline, |7C bar).
"""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.errors import InputError
from labkit.backends.workstation.vmx import VmxError, VmxFile, adapter_settings, escape, set_adapter, unescape
from labkit.backends.workstation.vmxedit import edit_vmx

FILES = Path(__file__).parent / "files" / "vmx"
VMX = sorted(FILES.glob("*.vmx"))


def text_of(name: str) -> str:
    return (FILES / name).read_bytes().decode("utf-8")


def changed_lines(before: str, after: str) -> list[str]:
    """The -/+ lines of a diff, line endings included, so a CRLF turned into LF shows up."""
    diff = difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True))
    return [d for d in diff if d[:1] in "+-"]


@pytest.mark.parametrize("path", VMX, ids=[p.name for p in VMX])
def test_unchanged_render_is_byte_identical(path):
    data = path.read_bytes()
    assert VmxFile.parse(data.decode("utf-8")).render().encode("utf-8") == data


def test_fixture_set_is_the_three_described():
    assert [p.name for p in VMX] == ["centos65.vmx", "ubuntu-crlf.vmx", "win7.vmx"]


def test_get_is_case_insensitive_and_unescapes():
    vmx = VmxFile.parse(text_of("ubuntu-crlf.vmx"))
    assert vmx.get("DISPLAYNAME") == '实验 NAT "tutorial" VM'
    assert vmx.get("annotation") == "Tutorial lab VM (NAT experiment)\r\nowner: lab|team #3"
    assert vmx.get("sata0:0.fileName") == "C:\\VMs\\ubuntu\\ubuntu.vmdk"
    assert vmx.get("ethernet1.connectionType") == "nat"  # the trailing comment is not the value
    assert vmx.get("no.such.key") is None


def test_adapters_of_the_windows_vm():
    vmx = VmxFile.parse(text_of("win7.vmx"))
    assert [adapter_settings(vmx, i) for i in range(4)] == [
        {"present": True, "connection_type": "bridged", "vnet": None},
        {"present": True, "connection_type": "hostonly", "vnet": None},
        {"present": True, "connection_type": "custom", "vnet": "vmnet2"},
        {"present": False, "connection_type": "nat", "vnet": None},
    ]


def test_set_adapter_changes_exactly_one_line_keeping_key_spelling():
    before = text_of("win7.vmx")
    vmx = VmxFile.parse(before)
    assert set_adapter(vmx, 0, "nat") is True
    assert changed_lines(before, vmx.render()) == [
        '- Ethernet0.connectionType = "bridged"\n',
        '+ Ethernet0.connectionType = "nat"\n',
    ]


def test_custom_sets_type_and_vnet_in_place_with_crlf_kept():
    before = text_of("ubuntu-crlf.vmx")
    vmx = VmxFile.parse(before)
    assert set_adapter(vmx, 1, "custom", "vmnet2") is True
    after = vmx.render()
    assert changed_lines(before, after) == [
        '- ethernet1.connectionType = "nat"   # was hostonly\r\n',
        '+ ethernet1.connectionType = "custom"   # was hostonly\r\n',
        '+ ethernet1.vnet = "vmnet2"\r\n',  # a new key goes last, with the file's own CRLF
    ]
    assert adapter_settings(VmxFile.parse(after), 1) == {"present": True, "connection_type": "custom",
                                                         "vnet": "vmnet2"}


def test_leaving_custom_keeps_the_vnet_line_and_reads_it_as_unused():
    before = text_of("ubuntu-crlf.vmx")
    vmx = VmxFile.parse(before)
    assert set_adapter(vmx, 0, "nat") is True
    assert changed_lines(before, vmx.render()) == [
        '- ethernet0.connectionType = "custom"\r\n',
        '+ ethernet0.connectionType = "nat"\r\n',
    ]
    assert vmx.get("ethernet0.vnet") == "VMnet8"
    assert adapter_settings(vmx, 0)["vnet"] is None


def test_already_set_is_no_change():
    before = text_of("centos65.vmx")
    vmx = VmxFile.parse(before)
    assert set_adapter(vmx, 0, "nat") is False
    assert vmx.render() == before


def test_same_vnet_in_another_spelling_is_no_change():
    vmx = VmxFile.parse(text_of("win7.vmx"))
    assert set_adapter(vmx, 2, "custom", "/dev/vmnet2") is False
    assert set_adapter(vmx, 2, "custom", "vmnet3") is True
    assert vmx.get("ethernet2.vnet") == "vmnet3"


@pytest.mark.parametrize("args,field", [
    (("bridge",), "connection_type"),
    (("custom",), "vnet"),
    (("custom", "vmnet2; reboot"), "vnet"),
    (("custom", 'vmnet2"'), "vnet"),
    (("custom", "vmnet256"), "vnet"),
    (("nat", "vmnet8"), "vnet"),
])
def test_bad_values_are_refused_before_any_edit(args, field):
    before = text_of("win7.vmx")
    vmx = VmxFile.parse(before)
    with pytest.raises(InputError) as exc:
        set_adapter(vmx, 0, *args)
    assert exc.value.field == field
    assert vmx.render() == before


@pytest.mark.parametrize("index", [1, 3])
def test_an_adapter_that_is_not_present_is_an_error(index):
    vmx = VmxFile.parse(text_of("centos65.vmx" if index == 1 else "win7.vmx"))
    with pytest.raises(VmxError, match=f"no network adapter {index}"):
        set_adapter(vmx, index, "nat")


@pytest.mark.parametrize("index", [-1, 10, True])
def test_index_out_of_range(index):
    with pytest.raises(InputError, match="0-9"):
        adapter_settings(VmxFile.parse(text_of("win7.vmx")), index)


def test_remove_drops_only_that_key():
    before = text_of("win7.vmx")
    vmx = VmxFile.parse(before).remove("ETHERNET2.VNET")
    assert changed_lines(before, vmx.render()) == ['- ethernet2.vnet = "VMnet2"\n']


def test_duplicates_are_all_rewritten_so_none_is_stale():
    vmx = VmxFile.parse('a = "1"\nb = "2"\nA = "3"\n')
    assert vmx.get("a") == "3"
    assert vmx.set("a", "x").render() == 'a = "x"\nb = "2"\nA = "x"\n'


def test_appending_to_a_file_without_a_final_newline():
    assert VmxFile.parse('a = "1"').set("b", "2").render() == 'a = "1"\nb = "2"\n'


def test_unquoted_values_are_read_and_rewritten_quoted():
    vmx = VmxFile.parse("memsize = 1024\n")
    assert vmx.get("memsize") == "1024"
    assert vmx.set("memsize", "2048").render() == 'memsize = "2048"\n'


@pytest.mark.parametrize("text,line", [
    ('a = "1"\nthis is not a setting\n', 2),
    ('a = "1"\nb = "unclosed\n', 2),
    ('a = "|FF|FE"\n', 1),
])
def test_unreadable_lines_name_their_line(text, line):
    with pytest.raises(VmxError, match=f"line {line}:"):
        VmxFile.parse(text)


# ---- properties -----------------------------------------------------------------------------

KEYS = st.from_regex(r"[A-Za-z][A-Za-z0-9_.:]{0,20}", fullmatch=True)
VALUES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
ENDINGS = st.sampled_from(["\n", "\r\n"])
SPACES = st.sampled_from(["", " ", "\t", "  "])


@st.composite
def vmx_texts(draw):
    """Settings (any value, escaped as VMware does), comments and blank lines, LF or CRLF."""
    out = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["setting", "setting", "comment", "blank"]))
        if kind == "setting":
            line = f'{draw(KEYS)}{draw(SPACES)}={draw(SPACES)}"{escape(draw(VALUES))}"'
        elif kind == "comment":
            line = "#" + draw(st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                                      max_size=20))
        else:
            line = draw(SPACES)
        out.append(line + draw(ENDINGS))
    if out and draw(st.booleans()):
        out[-1] = out[-1].rstrip("\r\n")
    return "".join(out)


# The first draw builds Hypothesis' Unicode tables (about a second): not slow generation.
RELAXED = settings(suppress_health_check=[HealthCheck.too_slow])


@RELAXED
@given(vmx_texts())
def test_parse_render_identity(text):
    assert VmxFile.parse(text).render() == text


@RELAXED
@given(vmx_texts(), KEYS, VALUES)
def test_set_then_get_and_reparse(text, key, value):
    vmx = VmxFile.parse(text).set(key, value)
    assert vmx.get(key.upper()) == value
    assert VmxFile.parse(vmx.render()).get(key) == value


@given(VALUES)
def test_escape_round_trip(value):
    assert unescape(escape(value)) == value
    assert '"' not in escape(value) and "\n" not in escape(value)


# ---- the file around it: vmxedit ------------------------------------------------------------

@pytest.fixture
def vm_dir(tmp_path):
    folder = tmp_path / "Windows 7 x64"
    folder.mkdir()
    path = folder / "Windows 7 x64.vmx"
    path.write_bytes((FILES / "win7.vmx").read_bytes())
    path.chmod(0o640)
    return path


def test_edit_vmx_writes_one_line_and_keeps_the_mode(vm_dir):
    before = vm_dir.read_bytes()
    assert edit_vmx(vm_dir, 1, "custom", "VMnet3") is True
    after = vm_dir.read_bytes()
    assert changed_lines(before.decode(), after.decode()) == [
        '- ethernet1.connectionType = "hostonly"\n',
        '+ ethernet1.connectionType = "custom"\n',
        '+ ethernet1.vnet = "VMnet3"\n',
    ]
    assert stat.S_IMODE(vm_dir.stat().st_mode) == 0o640
    assert sorted(p.name for p in vm_dir.parent.iterdir()) == ["Windows 7 x64.vmx"]  # no temp file left


def test_edit_vmx_does_not_write_when_nothing_changes(vm_dir):
    os.utime(vm_dir, ns=(1_000_000_000, 1_000_000_000))
    inode = vm_dir.stat().st_ino
    assert edit_vmx(vm_dir, 0, "bridged") is False
    assert vm_dir.stat().st_mtime_ns == 1_000_000_000 and vm_dir.stat().st_ino == inode


@pytest.mark.parametrize("lock", ["Windows 7 x64.vmx.lck", "Windows 7 x64.vmdk.lck"])
def test_edit_vmx_refuses_while_the_vm_is_running(vm_dir, lock):
    (vm_dir.parent / lock).mkdir()
    before = vm_dir.read_bytes()
    with pytest.raises(VmxError, match=f"running.*{lock}"):
        edit_vmx(vm_dir, 0, "nat")
    assert vm_dir.read_bytes() == before


def test_edit_vmx_leaves_no_temp_file_when_the_write_fails(vm_dir, monkeypatch):
    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    before = vm_dir.read_bytes()
    with pytest.raises(VmxError, match="cannot write: No space left"):
        edit_vmx(vm_dir, 0, "nat")
    assert vm_dir.read_bytes() == before
    assert sorted(p.name for p in vm_dir.parent.iterdir()) == ["Windows 7 x64.vmx"]


def test_edit_vmx_names_the_file_of_a_bad_vmx(tmp_path):
    path = tmp_path / "broken.vmx"
    path.write_bytes(b'ethernet0.present = "TRUE"\n<<< merge conflict\n')
    with pytest.raises(VmxError, match=r"broken\.vmx: line 2:"):
        edit_vmx(path, 0, "nat")


def test_edit_vmx_missing_file(tmp_path):
    with pytest.raises(VmxError, match="cannot read"):
        edit_vmx(tmp_path / "gone.vmx", 0, "nat")
