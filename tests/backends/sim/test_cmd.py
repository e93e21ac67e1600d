"""The simulated Windows guests' cmd.exe, construct by construct, through a VM's console (as labkit
sends it), and the timing it charges on the lab's clock."""

from __future__ import annotations

import pytest

from labkit.backends.sim import cmd, cmdsyntax
from labkit.matrix.ping import windows_parallel_command

TEMP = cmd.TEMP


@pytest.fixture
def win(lab):
    return lab.console.open("win7").run


def addresses(lab):
    """(an address win7 reaches, one it does not: centos is behind VMware's NAT)."""
    reached = str(lab.world.state.vms["nat2"].ifaces[0].address.ip)  # a NAT VM: win7 (bridged) cannot reach it
    return "203.0.113.10", reached


def test_lists_run_left_to_right_and_and_or_follow_the_status(win):
    assert win("echo one& echo two").stdout == "one\r\ntwo\r\n"
    assert win("nosuchtool && echo no || echo yes").stdout == "yes\r\n"
    r = win("nosuchtool")
    assert r.exit_status == 9009 and "'nosuchtool' is not recognized" in r.stderr


def test_variables_expand_once_before_the_line_runs_and_undefined_ones_stay(win):
    assert win("echo %TEMP%").stdout == TEMP + "\r\n"
    assert win("echo %temp% %NO_SUCH_THING%").stdout == f"{TEMP} %NO_SUCH_THING%\r\n"


def test_files_in_a_folder_of_temp(lab, win):
    r = win('cd /d "%TEMP%" && md lk && cd lk && >a.txt echo hello& type a.txt& type nothere.txt')
    assert r.stdout == "hello\r\n" and cmd.NOT_FOUND in r.stderr
    assert lab.world.guest("win7").files[TEMP + "\\lk\\a.txt"] == "hello\r\n"
    r = win('cd /d "%TEMP%" && md lk')
    assert r.exit_status == 1 and "already exists" in r.stderr
    assert win('cd /d "%TEMP%\\lk" && ren a.txt b.out && type *.out').stdout == "hello\r\n"
    assert win('cd /d "%TEMP%" && rd /s /q lk && cd lk').stderr == cmd.PATH_NOT_FOUND


def test_for_over_items_patterns_and_numbers(win):
    assert win("for %a in (x y,z) do @echo [%a]").stdout == "[x]\r\n[y]\r\n[z]\r\n"
    assert win("for /l %i in (1,2,7) do @echo %i").stdout == "1\r\n3\r\n5\r\n7\r\n"
    win('cd /d "%TEMP%" && md f && cd f && >1.txt echo a& >2.txt echo b& >3.log echo c')
    assert win('cd /d "%TEMP%\\f" && for %f in (*.txt) do @echo %~nf').stdout == "1\r\n2\r\n"
    loud = win('cd /d "%TEMP%\\f" && for %f in (*.log) do echo %f').stdout
    assert loud == f"\r\n{TEMP}\\f>echo 3.log\r\n3.log\r\n"  # without @ cmd shows each round's command


def test_if_exist_and_its_body_to_the_end_of_the_block(win):
    win('cd /d "%TEMP%" && md g && cd g && >x.txt echo x')
    assert win('cd /d "%TEMP%\\g" && (if exist *.txt echo yes & echo also ) & echo after').stdout == \
        "yes\r\nalso\r\nafter\r\n"
    assert win('cd /d "%TEMP%\\g" && (if exist *.out echo yes & echo also ) & echo after').stdout == "after\r\n"
    assert win('cd /d "%TEMP%\\g" && if not exist *.out echo none').stdout == "none\r\n"


@pytest.mark.parametrize("line", ["echo a | find a", "if a==a echo x", "(echo unclosed"])
def test_what_is_not_simulated_is_refused_not_guessed(win, line):
    r = win(line)
    assert r.exit_status == 255 and r.stdout == ""


def test_a_plain_ping_takes_its_time_on_the_lab_clock(lab, win):
    reached, lost = addresses(lab)
    before = lab.clock.monotonic()
    assert "Received = 1" in win(f"ping -n 1 -w 1000 {reached}").stdout
    assert lab.clock.monotonic() - before < 0.01
    r = win(f"ping -n 2 -w 1500 {lost}")
    assert "Received = 0" in r.stdout and r.exit_status == 1
    assert lab.clock.monotonic() - before == pytest.approx(3.0, abs=0.01)  # two probes, each waits 1.5 s


def test_start_runs_on_in_the_background_holding_its_file(lab, win):
    _, lost = addresses(lab)
    before = lab.clock.monotonic()
    r = win(f'cd /d "%TEMP%" && md s && cd s && start "" /b ping -n 1 -w 2000 {lost} >p.txt 2>&1 '
            "& ren p.txt p.out & type p.txt")
    assert "being used by another process" in r.stderr  # ping.exe has it open: no rename yet
    assert r.stdout == ""  # and nothing written yet
    assert lab.clock.monotonic() - before < 0.01  # start did not wait
    r = win('cd /d "%TEMP%\\s" && ping -n 3 127.0.0.1 >nul & ren p.txt p.out && type p.out')
    assert r.exit_status == 0 and f"Ping statistics for {lost}" in r.stdout


def test_start_of_cmd_itself_is_refused(win):
    r = win('start "" /b cmd /c "echo hi"')
    assert r.exit_status == 1 and "not simulated" in r.stderr


def test_the_parallel_probe_line_takes_one_deadline_and_cleans_up(lab, win):
    reached, lost = addresses(lab)
    before = lab.clock.monotonic()
    r = win(windows_parallel_command([reached, lost, "192.168.1.1"], 1, 1.0, "feed"))
    took = lab.clock.monotonic() - before
    assert r.stdout.count("Ping statistics for") == 3
    assert f"Reply from {reached}" in r.stdout and f"Ping statistics for {lost}" in r.stdout
    assert 1.0 <= took <= 2.0  # one lost probe's timeout, measured in whole seconds of waiting
    guest = lab.world.guest("win7")
    assert not [f for f in guest.files if "labkit-ping-feed" in f]
    assert not [d for d in guest.dirs if "labkit-ping-feed" in d]


def test_every_round_at_once_is_the_same_as_round_by_round(lab, monkeypatch):
    """The interpreter runs `for ... do @start ... %a >%a.txt` for all items at once (a thousand-target
    probe); round by round must leave the same output, files and clock."""
    reached, lost = addresses(lab)
    line = windows_parallel_command([reached, lost, "192.168.1.1", "192.168.1.100"], 2, 1.5, "abcd")
    seen = []
    for bulk in (True, False):
        if not bulk:
            monkeypatch.setattr(cmd.Cmd, "_start_all", lambda *a: False)
        before = lab.clock.monotonic()
        r = lab.console.open("win7").run(line)
        seen.append((r.stdout, r.stderr, r.exit_status, round(lab.clock.monotonic() - before, 6)))
    assert seen[0] == seen[1]
    assert seen[0][0].count("Ping statistics for") == 4


@pytest.mark.parametrize("files", [
    ["a.txt", "b.TXT", "c.x.txt"],  # every name free: renamed all at once
    ["a.txt", "a.TXT", "b.txt"],  # two sources, one new name: the second is refused
    ["a.txt", "a.out", "b.txt"],  # a new name already taken: that one is refused, the others done
])
def test_a_pattern_rename_leaves_what_one_by_one_leaves(lab, files):
    """`ren *.txt *.out` renames every match at once when no new name is taken; the one-by-one
    rules (what is refused, in what order, with what message) are what it must agree with."""
    guest = lab.world.guest("win7")
    folder = TEMP + "\\rn"
    guest.dirs.add(folder)
    for name in files:
        guest.files[folder + "\\" + name] = name
    r = cmd.Cmd(guest, folder).run("ren *.txt *.out")
    left = {p.rsplit("\\", 1)[-1]: text for p, text in guest.files.items() if p.startswith(folder + "\\")}
    if files[1] == "b.TXT":
        assert (r.exit_status, r.stderr) == (0, "")
        assert left == {"a.out": "a.txt", "b.out": "b.TXT", "c.x.out": "c.x.txt"}
    elif files[1] == "a.TXT":
        assert r.exit_status == 1 and r.stderr.count("A duplicate file name exists") == 1
        assert sorted(left) == ["a.TXT", "a.out", "b.out"] or sorted(left) == ["a.out", "a.txt", "b.out"]
    else:
        assert r.exit_status == 1 and r.stderr.count("A duplicate file name exists") == 1
        assert left == {"a.txt": "a.txt", "a.out": "a.out", "b.out": "b.txt"}


@pytest.mark.parametrize("line, then", [
    # they outlive the line: the lab runs them on, and a later line finds their files filled
    ('cd /d "%TEMP%" && md o && cd o && (for %a in ({addrs}) do @start "" /b ping -n 1 -w 3000 %a >%a.txt 2>&1 )'
     " & type *.txt", 'cd /d "%TEMP%\\o" && ping -n 5 127.0.0.1 >nul & type *.txt'),
    # they end at different moments: a wait between two looks sees the quick ones only
    ('cd /d "%TEMP%" && md d && cd d && (for %a in ({addrs}) do @start "" /b ping -n 1 -w 2500 %a >%a.txt )'
     " & ping -n 2 127.0.0.1 >nul & ren *.txt *.out & type *.out & ping -n 3 127.0.0.1 >nul & ren *.txt *.out"
     " & type *.out", 'cd /d "%TEMP%\\d" && type *.*'),
    # `>>` adds to what the files held
    ('cd /d "%TEMP%" && md a && cd a && (for %a in ({addrs}) do @echo was >%a.log) & (for %a in ({addrs}) do '
     '@start "" /b ping -n 1 -w 1000 %a >>%a.log 2>&1 ) & ping -n 3 127.0.0.1 >nul & type *.log', "echo"),
    # a file already held by one of them: that round is refused, the others run
    ('cd /d "%TEMP%" && md h && cd h && start "" /b ping -n 1 -w 3000 {lost} >{lost}.txt & (for %a in ({addrs}) '
     'do @start "" /b ping -n 1 -w 1000 %a >%a.txt 2>&1 ) & ping -n 4 127.0.0.1 >nul & type *.txt', "echo"),
])
def test_programs_started_together_leave_what_round_by_round_leaves(lab, monkeypatch, line, then):
    """`for ... do @start ... %a >%a.txt` runs all its rounds at once and keeps them as one record
    (started.py); the output, files, statuses and clock must be those of one round at a time,
    also for programs that end at different moments, outlive the line, or append."""
    reached, lost = addresses(lab)
    text = line.format(addrs=f"{reached} {lost} 192.168.1.1", lost=lost)
    seen = []
    for bulk in (True, False):
        if not bulk:
            monkeypatch.setattr(cmd.Cmd, "_start_all", lambda *a: False)
        guest = lab.world.guest("win7")
        before = lab.clock.monotonic()
        first = lab.console.open("win7").run(text)
        took = round(lab.clock.monotonic() - before, 6)
        second = lab.console.open("win7").run(then)
        files = sorted((p.rsplit("\\", 1)[-1], t) for p, t in guest.files.items() if p.startswith(TEMP + "\\"))
        seen.append((first, took, second, files))
        lab.console.open("win7").run(f'cd /d "%TEMP%" && rd /s /q {text.split("md ")[1].split()[0]}')
        lab.clock.sleep(5)  # nothing of the first pass left running
    assert seen[0] == seen[1]
    assert seen[0][0].stdout.count("Ping statistics for") + seen[0][2].stdout.count("Ping statistics for") >= 2


def test_commands_read_by_regular_expressions_are_read_as_char_by_char():
    """Most commands have no caret, no parenthesis outside quotes and no quote left open:
    `_plain_simple` reads them by regular expressions. On any line, parsing with it and without it must give the same tree or error."""
    import random

    pieces = ["a", "b", "1", "2", " ", "\t", ">", ">>", "2>&1", "<", "&", "&&", "||", "|", "(", ")", '"', "^", "%a",
              "@", "echo ", "for %a in (x y) do ", "if exist *.txt ", ".", "*", ">&", "3>", "nul", "ping -n 1 ",
              '"x y"', '"a>b"', '""', '"&"', '"(x)"', 'start "" /b ', "\n"]
    rng = random.Random(7)

    def parsed(line: str) -> str:
        try:
            return repr(cmdsyntax.parse(line))
        except cmdsyntax.CmdSyntaxError as exc:
            return f"error: {exc}"

    lines = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 14))) for _ in range(4000)]
    lines.append(windows_parallel_command(["10.0.0.1", "10.0.0.2"], 1, 1.0, "abcd"))
    fast = [parsed(line) for line in lines]
    plain = cmdsyntax._Parser._plain_simple
    try:
        cmdsyntax._Parser._plain_simple = lambda self, quiet: None  # type: ignore[method-assign]
        slow = [parsed(line) for line in lines]
    finally:
        cmdsyntax._Parser._plain_simple = plain  # type: ignore[method-assign]
    assert fast == slow
    assert sum(not f.startswith("error") for f in fast) > 1000  # most lines parse: the comparison means something


@pytest.mark.parametrize("pattern", ["*.txt", "*.TXT", "*.out", "*.", "*.x", "*.tx", "*txt", "*.longer"])
def test_a_folder_is_matched_by_ending_as_by_its_names(lab, pattern):
    """`*.EXT` is answered by every spelling of EXT at once (str.endswith, in C) over the folder's
    listing (kept while the folder stands): it must find what a case-insensitive look at every
    name finds, in the same order, before and after the folder changes."""
    guest = lab.world.guest("win7")
    folder = TEMP + "\\m"
    guest.dirs.update({folder, folder + "\\sub.txt"})
    names = ["a.txt", "B.TXT", "c.x.txt", "d.out", "e", "f.", "g.Txt", "h.txtx", "i.longer", "j.tx"]
    for name in names:
        guest.files[folder + "\\" + name] = name
    c = cmd.Cmd(guest, folder)

    def expected() -> list[str]:
        tail = pattern.lower()[1:]
        inside = [p for p in [*guest.files, *guest.dirs] if p.startswith(folder + "\\") and "\\" not in p[len(folder) + 1:]]
        return sorted(p for p in inside if p.rsplit("\\", 1)[1].lower().endswith(tail))

    assert c.matches(pattern) == expected()
    assert c.matches(pattern, first=True) == expected()[:1] or c.matches(pattern, first=True)[0] in expected()
    assert c.run(f"ren {pattern} *.new").exit_status in (0, 1)  # the folder changes under the kept index
    assert c.matches(pattern) == expected()
    assert c.matches("*.new") == sorted(p for p in guest.files if p.startswith(folder + "\\") and p.endswith(".new"))
