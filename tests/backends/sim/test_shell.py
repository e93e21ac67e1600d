"""The simulated guests' sh, construct by construct, through a VM's console (as labkit would send it)."""

from __future__ import annotations

import pytest

from labkit.backends.sim import shell
from labkit.backends.sim.shparse import parse
from labkit.backends.sim.shsyntax import ShellSyntaxError


@pytest.fixture
def sh(lab):
    console = lab.console.open("nat2")
    return console.run


def test_lists_with_semicolons_and_newlines(sh):
    r = sh("echo one; echo two\necho three\n\n")
    assert (r.exit_status, r.stdout) == (0, "one\ntwo\nthree\n")


def test_and_or_short_circuit_left_to_right(sh):
    assert sh("false && echo no || echo yes").stdout == "yes\n"
    assert sh("true || echo no && echo yes").stdout == "yes\n"
    r = sh("true && false")
    assert r.exit_status == 1 and r.stdout == ""


def test_negation_and_status_variable(sh):
    assert sh("false; echo $?").stdout == "1\n"
    assert sh("! false; echo $?").stdout == "0\n"
    assert sh("no-such-tool; echo $?").stdout == "127\n"


def test_assignment_and_expansion_split_unquoted_only(sh):
    r = sh('v="a   b"; echo $v; echo "$v"; echo ${v}x; e=; echo [$e] "[$e]"')
    assert r.stdout == "a b\na   b\na bx\n[] []\n"


def test_single_quotes_expand_nothing_double_quotes_expand_parameters(sh):
    r = sh("""v=x; echo '$v "q"' "$v 'q'" \\$v""")
    assert r.stdout == "$v \"q\" x 'q' $v\n"


def test_empty_quoted_word_is_an_argument(sh):
    assert sh('[ -n "" ]; echo $?').stdout == "1\n"
    assert sh('[ -z "" ]; echo $?').stdout == "0\n"


def test_command_substitution_strips_trailing_newlines_and_sets_status(sh):
    assert sh('x=$(echo hi; echo there); echo "[$x]"').stdout == "[hi\nthere]\n"
    assert sh("x=$(false) || echo failed").stdout == "failed\n"
    assert sh('echo "$(echo $(echo nested))"').stdout == "nested\n"


def test_subshell_keeps_its_variables_and_exit_to_itself(sh):
    r = sh("v=outer; (v=inner; echo $v; exit 3); echo $? $v")
    assert r.stdout == "inner\n3 outer\n"


def test_exit_ends_the_script_with_its_status(sh):
    r = sh("echo before; exit 4; echo after")
    assert (r.exit_status, r.stdout) == (4, "before\n")
    assert sh("false; exit").exit_status == 1  # exit without N keeps $?


def test_redirections_into_guest_files(lab, sh):
    sh("echo one > /tmp/f; echo two >> /tmp/f")
    assert lab.transport("nat2").read_file("/tmp/f") == "one\ntwo\n"
    r = sh("cat /nonexistent 2>/dev/null; echo status=$?")
    assert r.stdout == "status=1\n" and r.stderr == ""
    r = sh("cat /nonexistent > /tmp/both 2>&1")
    assert r.stderr == "" and "No such file" in lab.transport("nat2").read_file("/tmp/both")
    r = sh("cat /nonexistent 2>&1 >/tmp/out")  # order matters: stderr went to the old stdout
    assert "No such file" in r.stdout and lab.transport("nat2").read_file("/tmp/out") == ""
    assert sh("cat < /tmp/f").stdout == "one\ntwo\n"
    assert sh("cat </dev/null").stdout == ""
    r = sh("cat < /nope")
    assert r.exit_status == 2 and "cannot open /nope" in r.stderr


def test_background_jobs_and_wait(sh, lab):
    before = lab.clock.monotonic()
    r = sh("(sleep 5; echo late > /tmp/a) & (sleep 3; echo early > /tmp/b) & wait; cat /tmp/b /tmp/a")
    assert r.stdout == "early\nlate\n"
    assert lab.clock.monotonic() - before == pytest.approx(5)  # the jobs slept side by side


def test_sleep_moves_the_virtual_clock(sh, lab):
    before = lab.clock.monotonic()
    assert sh("sleep 2; sleep 1m").ok
    assert lab.clock.monotonic() - before == pytest.approx(62)
    assert sh("sleep soon").exit_status == 1


def test_setsid_job_sleeps_on_the_clock_and_survives_its_caller(sh, lab):
    assert sh("setsid -f sh -c 'sleep 10; touch /run/fired' >/dev/null 2>&1 </dev/null").ok
    assert not sh("[ -e /run/fired ]").ok  # parked, not run
    lab.clock.sleep(9)
    assert not sh("[ -e /run/fired ]").ok
    lab.clock.sleep(1)
    assert sh("[ -e /run/fired ]").ok  # resumed by the next look at the lab


def test_setsid_without_fork_runs_in_the_foreground(sh):
    assert sh("setsid sh -c 'echo here; exit 5'").stdout == "here\n"
    assert sh("setsid sh -c 'exit 5'").exit_status == 5


def test_pkill_matches_command_line_and_script(sh, lab):
    t = lab.transport("nat2")
    t.write_file("/run/job-abc.sh", "sleep 30\ntouch /run/ran\n")
    sh("setsid -f sh /run/job-abc.sh")
    sh("setsid -f sh -c 'sleep 30; touch /run/other'")
    r = sh("pkill -f 'job-[a]bc'")  # the bracket keeps pkill's own command line from matching
    assert r.exit_status == 0
    assert sh("pkill -f 'job-[a]bc'").exit_status == 1  # nothing left to kill
    lab.clock.sleep(31)
    assert not sh("[ -e /run/ran ]").ok and sh("[ -e /run/other ]").ok


def test_sh_file_and_sh_c_with_arguments(sh, lab):
    lab.transport("nat2").write_file("/tmp/s.sh", 'echo "$0 got $1"\nexit 7\n')
    r = sh("sh /tmp/s.sh first")
    assert (r.exit_status, r.stdout) == (7, "/tmp/s.sh got first\n")
    assert sh("sh -c 'echo $0 $1' name arg").stdout == "name arg\n"
    assert sh("sh /tmp/none").exit_status == 2


def test_file_utilities(sh, lab):
    d = sh("mktemp -d").stdout.strip()
    assert d.startswith("/tmp/tmp.") and sh(f"[ -e {d} ]").ok
    assert sh(f"touch {d}/x && cp {d}/x {d}/y && mv -f {d}/y {d}/z && ls -d {d}/*").stdout == f"{d}/x\n{d}/z\n"
    assert sh(f"rm -f {d}/nothing; rm {d}/nothing").exit_status == 1
    assert sh(f"rm {d}").exit_status == 1  # a directory needs -r
    assert sh(f"rm -rf {d} && [ -e {d}/x ] || echo gone").stdout == "gone\n"
    assert sh("cp /nope /tmp/x").stderr == "cp: cannot stat '/nope': No such file or directory\n"


def test_globs_expand_over_the_guest_files_and_stay_literal_when_nothing_matches(sh):
    r = sh("ls -d /etc/sysconfig/network-scripts/ifcfg-* /etc/netplan/*.yaml 2>/dev/null")
    assert r.stdout == "/etc/sysconfig/network-scripts/ifcfg-eth0\n" and r.exit_status == 2
    assert sh("echo /etc/netplan/*.yaml '/etc/*'").stdout == "/etc/netplan/*.yaml /etc/*\n"


def test_command_v_and_unknown_commands(sh):
    assert sh("command -v fping").stdout == "/usr/bin/fping\n"
    r = sh("command -v nmcli netplan ping 2>/dev/null")
    assert r.stdout == "/bin/ping\n" and r.exit_status == 1
    r = sh("frobnicate --now")
    assert r.exit_status == 127 and r.stderr == "sh: 1: frobnicate: not found\n"


def test_comments_and_line_continuations(sh):
    assert sh("# a comment\necho a # trailing\necho b\\\nc").stdout == "a\nbc\n"


def test_syntax_errors_are_sh_errors_not_guesses(sh):
    r = sh("echo 'unterminated")
    assert r.exit_status == 2 and "Syntax error" in r.stderr
    assert sh("if true; then echo x; fi").exit_status == 2
    with pytest.raises(ShellSyntaxError):
        parse("echo a &&")


def test_plain_commands_skip_the_parser(lab, monkeypatch):
    """The 1000-target fping line is one long plain command: it must not pay for a general parse."""
    def refuse(text):
        raise AssertionError(f"parsed: {text[:40]}")

    monkeypatch.setattr(shell, "parse", refuse)
    r = lab.transport("nat2").run("fping -q -C 1 -t 500 -r 0 " + " ".join(f"10.0.0.{n}" for n in range(1, 200)))
    assert r.stderr.count("\n") == 199
    assert lab.transport("win7").run("ping -n 1 -w 1000 192.168.1.1").ok


def test_windows_runs_cmd_words_only(lab):
    con = lab.console.open("win7")
    assert con.run('ipconfig /renew "eth0"').ok  # quotes removed, as the program's C runtime does
    r = con.run("sleep 1")
    assert r.exit_status == 9009 and "'sleep' is not recognized" in r.stderr
