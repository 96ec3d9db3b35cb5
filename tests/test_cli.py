"""Tests of the ``venvsync`` command line: version, help, ``select`` and error reporting."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import tomli_w

from _support.pylock import package_entry, wheel_entry, write_pylock
from _support.wheels import make_wheel
from tox_venvsync import __version__
from tox_venvsync import _cli as cli
from tox_venvsync._cli import _parser, main

if TYPE_CHECKING:
    from pytest_mock import MockerFixture

VENV_PYTHON = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"


def _python() -> Path:
    return VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable)


def _package(tmp_path: Path, name: str, version: str = "1.0", *, marker: str | None = None) -> dict[str, object]:
    wheel = make_wheel(tmp_path / "wheels", name, version)
    return package_entry(name, version, [wheel_entry(wheel)], marker=marker)


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    packages = [
        _package(tmp_path, "zeta", "3.0"),
        _package(tmp_path, "alpha", "1.0"),
        _package(tmp_path, "mid-pkg", "2.0.1"),
        _package(tmp_path, "windows-only", marker="sys_platform == 'win32'"),
        _package(tmp_path, "cli-dep", marker="'cli' in extras"),
        _package(tmp_path, "docs-dep", marker="'docs' in dependency_groups"),
        _package(tmp_path, "dev-dep", marker="'dev' in dependency_groups"),
    ]
    return write_pylock(
        tmp_path / "pylock.toml", packages, extras=["cli"], dependency_groups=["dev", "docs"], default_groups=["dev"]
    )


def _select(capsys: pytest.CaptureFixture[str], lock: Path, python: Path | str, *args: str) -> tuple[int, str, str]:
    code = main(["select", "--lock", str(lock), "--python", str(python), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr() == (f"venvsync {__version__}\n", "")


def test_no_arguments_print_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out, err = capsys.readouterr()
    assert out == _parser().format_help()
    assert out.startswith("usage: venvsync")
    assert "select" in out
    assert err == ""


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # where argparse keeps them
    return dict(found.choices)


@pytest.mark.parametrize(
    "argv",
    [
        ["select", "--lock", "uv.lock", "--python", "3.12", "--extra", "cli", "--group", "dev", "--json"],
        ["sync", "--lock", "uv.lock", "--venv", "v", "--python", "3.12", "--inexact", "--no-default-groups"],
        ["verify", "--venv", "v", "--lock", "pylock.toml", "--only-group", "docs"],
    ],
)
def test_a_command_is_parsed_with_its_own_options_alone(argv: list[str]) -> None:
    # argparse makes a help formatter for each option it is given: only the command run has its options built
    command = argv[0]
    alone, whole = _parser(command), _parser()
    assert list(_commands(alone)) == [command]
    assert list(_commands(whole)) == ["select", "sync", "verify"]
    assert alone.parse_args(argv) == whole.parse_args(argv)
    assert _commands(alone)[command].format_help() == _commands(whole)[command].format_help()


@pytest.mark.parametrize(
    ("argv", "built"), [(["sync", "--help"], "sync"), (["verify", "-h"], "verify"), (["--help"], None), (["x"], None)]
)
def test_main_builds_the_options_of_the_command_it_runs(
    argv: list[str], built: str | None, mocker: MockerFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = mocker.spy(cli, "_parser")
    with pytest.raises(SystemExit):
        main(argv)
    parser.assert_called_once_with(built)
    out, err = capsys.readouterr()
    assert (out or err).startswith(f"usage: venvsync {built or '[-h]'}")
    if argv == ["x"]:  # an unknown command's error lists every command
        assert "invalid choice: 'x' (choose from 'select', 'sync', 'verify')" in err


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (
            "select",
            (
                "Print what the lock installs for an interpreter, extras and groups, changing nothing. "
                "Exit codes: 0 ok, 2 bad input."
            ),
        ),
        (
            "sync",
            (
                "Make a venv match the lock exactly (create, adopt or update it). "
                "Exit codes: 0 ok, 1 the sync failed, 2 bad input."
            ),
        ),
        (
            "verify",
            (
                "Check installed files against RECORD and the venv against the lock, changing nothing. "
                "Exit codes: 0 nothing found, 1 a difference found, 2 bad input."
            ),
        ),
    ],
)
def test_each_commands_help_says_what_it_does_and_its_exit_codes(
    capsys: pytest.CaptureFixture[str], command: str, says: str
) -> None:
    # `venvsync verify --help` printed its usage and options only: what the command does and what its exit codes
    # mean were in `venvsync --help` alone, where a user who asked one command's help does not look (found by QA)
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert says in " ".join(out.split())


@pytest.mark.parametrize("columns", [None, "30", "100", "250", "0", "x", "terminal", "no stdout"])
def test_the_help_is_as_wide_as_argparse_makes_it(columns: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    # the width is worked out without importing shutil, as shutil.get_terminal_size works it out
    monkeypatch.delenv("COLUMNS", raising=False)
    if columns == "terminal":  # what shutil asks too
        monkeypatch.setattr(os, "get_terminal_size", lambda _fd: os.terminal_size((123, 40)))
    elif columns == "no stdout":  # pythonw, or a daemon that closed it
        monkeypatch.setattr(sys, "__stdout__", None)
    elif columns is not None:
        monkeypatch.setenv("COLUMNS", columns)
    parser = _parser()
    parsers = [parser, *_commands(parser).values()]
    ours = [each.format_help() for each in parsers]
    for each in parsers:
        each.formatter_class = argparse.HelpFormatter
    assert [each.format_help() for each in parsers] == ours


def test_select_json(capsys: pytest.CaptureFixture[str], lock: Path, python312: Path) -> None:
    code, out, err = _select(capsys, lock, python312, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == [
        {"name": "alpha", "version": "1.0", "source": "wheel"},
        {"name": "dev-dep", "version": "1.0", "source": "wheel"},
        {"name": "mid-pkg", "version": "2.0.1", "source": "wheel"},
        {"name": "zeta", "version": "3.0", "source": "wheel"},
    ]


def test_select_text(capsys: pytest.CaptureFixture[str], lock: Path, python312: Path) -> None:
    code, out, _ = _select(capsys, lock, python312)
    assert code == 0
    assert out == "alpha==1.0 (wheel)\ndev-dep==1.0 (wheel)\nmid-pkg==2.0.1 (wheel)\nzeta==3.0 (wheel)\n"


def test_select_text_names_a_source_tree_without_a_version(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, python312: Path
) -> None:
    # a directory the lock gives no version (pip lock writes its project so) is built when installed
    packages: list[dict[str, object]] = [_package(tmp_path, "alpha", "1.0")]
    packages.append({"name": "helper", "directory": {"path": "helper"}})
    lock = write_pylock(tmp_path / "pylock.toml", packages)
    code, out, _ = _select(capsys, lock, python312)
    assert (code, out) == (0, "alpha==1.0 (wheel)\nhelper (directory)\n")
    code, out, _ = _select(capsys, lock, python312, "--json")
    assert json.loads(out)[1] == {"name": "helper", "version": None, "source": "directory"}


def test_select_extras_and_groups(capsys: pytest.CaptureFixture[str], lock: Path, python312: Path) -> None:
    code, out, _ = _select(
        capsys, lock, python312, "--json", "--extra", "CLI", "--group", "docs", "--no-default-groups"
    )
    assert code == 0
    assert [row["name"] for row in json.loads(out)] == ["alpha", "cli-dep", "docs-dep", "mid-pkg", "zeta"]


MEMBERS = Path(__file__).parent / "data" / "lockfiles" / "uv" / "synthetic__members"


@pytest.mark.parametrize(
    ("flags", "names"),
    [
        pytest.param(["--package", "lib-one"], ["fancy-dep", "helper", "lib-one", "lintdep"], id="package"),
        pytest.param(
            ["--all-packages", "--no-default-groups"],
            ["app", "dep", "fancy-dep", "helper", "lib-one", "lib-two", "native"],
            id="all-packages",
        ),
        pytest.param(["--no-dev"], ["app", "dep", "fancy-dep", "helper", "lib-one"], id="no-dev"),
        pytest.param(["--only-dev"], ["dep", "devtool"], id="only-dev"),
        # uv sync --only-dev takes --extra and --all-extras and leaves them out, as it leaves the project out (uv
        # 0.13.9); refused here, which stopped tox-uv's uv_sync_flags = --only-dev beside tox's extras (found by QA)
        pytest.param(["--package", "lib-one", "--only-dev", "--extra", "x"], ["oldonly"], id="only-dev-and-extra"),
        pytest.param(["--only-dev", "--all-extras"], ["dep", "devtool"], id="only-dev-and-all-extras"),
        pytest.param(
            ["--package", "lib-one", "--all-groups", "--no-group", "test", "--all-extras"],
            ["fancy-dep", "helper", "lib-one", "native", "oldonly"],
            id="all-but",
        ),
    ],
)
def test_uv_sync_selection_flags(
    capsys: pytest.CaptureFixture[str], python312: Path, flags: list[str], names: list[str]
) -> None:
    code, out, err = _select(capsys, MEMBERS / "uv.lock", python312, *flags)
    assert (code, err) == (0, "")
    assert [line.split("==")[0] for line in out.splitlines()] == names


@pytest.mark.parametrize(
    ("flags", "have"),
    [
        pytest.param(["--only-dev", "--extra", "cli"], "none", id="root"),
        pytest.param(["--package", "lib-one", "--only-dev", "--extra", "fancy"], "x", id="package"),
    ],
)
def test_only_dev_checks_the_name_of_the_extra_it_leaves_out(
    capsys: pytest.CaptureFixture[str], python312: Path, flags: list[str], have: str
) -> None:
    # found by QA: --only-dev left the extras out unchecked, where uv sync --only-dev (0.13.9) stops at one the project
    # does not define ("Extra `cli` is not defined in the `optional-dependencies` table for `app`")
    code, out, err = _select(capsys, MEMBERS / "uv.lock", python312, *flags)
    assert (code, out) == (2, "")
    assert err == f"venvsync: error: {MEMBERS / 'uv.lock'}: the lock has no extra {flags[-1]}; it has: {have}\n"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        pytest.param(
            ["--all-extras", "--extra", "x"],
            "--all-extras selects every extra: leave --extra out (uv sync refuses both together)",
            id="all-extras-and-extra",
        ),
        pytest.param(
            # uv's parser refuses the two together before it reads --only-dev (uv 0.13.9)
            ["--only-dev", "--all-extras", "--extra", "x"],
            "--all-extras selects every extra: leave --extra out (uv sync refuses both together)",
            id="only-dev-all-extras-and-extra",
        ),
        pytest.param(
            ["--only-group", "dev", "--all-extras", "--extra", "x"],
            "--only-group installs those groups alone, not the project's dependencies: leave out --extra and --group "
            "(uv sync --only-group refuses --extra and --group too)",
            id="only-group-all-extras-and-extra",
        ),
        pytest.param(
            ["--all-packages", "--package", "lib-one"],
            "--all-packages starts from every workspace member: leave out --package (uv sync refuses both together)",
            id="all-packages-and-package",
        ),
        pytest.param(
            ["--only-group", "dev", "--all-groups"],
            "--only-group installs those groups alone: leave out --all-groups (uv sync refuses it too)",
            id="only-and-all-groups",
        ),
        pytest.param(
            ["--only-dev", "--group", "lint"],
            "--only-dev installs those groups alone, not the project's dependencies: leave out --extra and --group "
            "(uv sync --only-group refuses --extra and --group too)",
            id="only-dev-and-group",
        ),
        pytest.param(
            ["--only-group", "dev", "--extra", "x"],
            "--only-group installs those groups alone, not the project's dependencies: leave out --extra and --group "
            "(uv sync --only-group refuses --extra and --group too)",
            id="only-group-and-extra",
        ),
        pytest.param(
            ["--only-group", "dev", "--all-extras"],
            "--only-group installs those groups alone: leave out --all-extras (uv sync refuses it too)",
            id="only-group-and-all-extras",
        ),
        pytest.param(
            ["--only-dev", "--no-dev"],
            "--no-dev leaves out the group --only-dev asks for alone: pass one of them (uv sync refuses both)",
            id="no-dev-and-only-dev",
        ),
    ],
)
def test_selection_flags_uv_refuses_together(
    capsys: pytest.CaptureFixture[str], python312: Path, flags: list[str], message: str
) -> None:
    code, out, err = _select(capsys, MEMBERS / "uv.lock", python312, *flags)
    assert (code, out) == (2, "")
    assert err == f"venvsync: error: {message}\n"


def test_workspace_flags_are_refused_for_other_locks(
    capsys: pytest.CaptureFixture[str], python312: Path, lock: Path
) -> None:
    code, out, err = _select(capsys, lock, python312, "--all-packages")
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: {lock}: --all-packages picks members of a uv workspace, and this lock is no uv.lock; leave "
        "it out\n"
    )


def test_a_requirements_files_relative_paths_start_at_the_working_directory(
    capsys: pytest.CaptureFixture[str], python312: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as pip install -r and uv pip sync read requirements/dev.txt's "-e ." from the project root
    for directory, name in ((tmp_path, "proj"), (tmp_path / "requirements", "beside")):
        directory.mkdir(exist_ok=True)
        (directory / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "1"\n')
    (tmp_path / "requirements" / "dev.txt").write_text("-e .\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = _select(capsys, Path("requirements/dev.txt"), python312)
    assert (code, err, out) == (0, "", "proj (directory)\n")


def test_select_a_uv_workspace_member_by_its_directory(
    capsys: pytest.CaptureFixture[str], python312: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as uv sync run in libs/one: that member, its dependencies and its own default group (test), not the root's
    monkeypatch.chdir(MEMBERS / "libs" / "one")
    code, out, err = _select(capsys, Path("../../uv.lock"), python312, "--project", ".")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "fancy-dep==1.0 (wheel)",
        "helper==1.0 (wheel)",
        "lib-one==0.2 (directory)",
        "lintdep==3.0 (wheel)",
    ]
    monkeypatch.chdir(MEMBERS)
    code, out, _ = _select(capsys, Path("uv.lock"), python312, "--project", "libs/one/src")  # as uv: its project
    assert (code, out.splitlines()[2]) == (0, "lib-one==0.2 (directory)")
    monkeypatch.chdir(MEMBERS / "libs" / "one")
    code, out, _ = _select(capsys, Path("../../uv.lock"), python312)  # the lock's own project, app
    assert (code, "dep==1.0 (wheel)" in out.splitlines()) == (0, True)


@pytest.mark.parametrize(
    ("project", "message"),
    [
        ("libs", ("{lock}: no workspace member of the lock is at {members}/libs; add that project to "
         "tool.uv.workspace.members and run uv lock, or sync from the workspace root")),
        ("..", "--project .. is not inside {members}, the lock's workspace; pass a member's directory"),
    ],
)  # fmt: skip
def test_a_project_that_is_no_member_is_one_sentence(
    capsys: pytest.CaptureFixture[str], python312: Path, project: str, message: str
) -> None:
    lock = MEMBERS / "uv.lock"
    code, out, err = _select(capsys, lock, python312, "--project", str(MEMBERS / project) if project != ".." else "..")
    assert (code, out) == (2, "")
    assert err == f"venvsync: error: {message.format(lock=lock, members=MEMBERS)}\n"


def test_project_is_refused_for_a_lock_without_workspaces(
    capsys: pytest.CaptureFixture[str], lock: Path, python312: Path
) -> None:
    code, out, err = _select(capsys, lock, python312, "--project", str(lock.parent))
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: --project {lock.parent} picks a uv workspace member; the pylock lock {lock} has none: "
        "leave it out\n"
    )


def test_only_group_selects_the_group_alone(capsys: pytest.CaptureFixture[str], python312: Path, lock: Path) -> None:
    # uv sync --only-group dev: the group's packages, not the project's dependencies
    code, out, err = _select(capsys, MEMBERS / "uv.lock", python312, "--only-group", "dev")
    assert (code, err) == (0, "")
    assert out.splitlines() == ["dep==1.0 (wheel)", "devtool==1.0 (wheel)"]
    code, out, err = _select(capsys, MEMBERS / "uv.lock", python312, "--only-group", "dev", "--group", "dev")
    assert (code, out) == (2, "")
    assert err == (
        "venvsync: error: --only-group installs those groups alone, not the project's dependencies: leave out --extra "
        "and --group (uv sync --only-group refuses --extra and --group too)\n"
    )
    code, out, err = _select(capsys, lock, python312, "--only-group", "dev")  # a pylock cannot tell them apart
    assert (code, out) == (2, "")
    assert err.startswith(f"venvsync: error: {lock}: a pylock.toml does not tell the project's own dependencies ")
    assert "so --only-group cannot leave them out" in err


def test_select_missing_extra(capsys: pytest.CaptureFixture[str], lock: Path, python312: Path) -> None:
    code, out, err = _select(capsys, lock, python312, "--extra", "gui")
    assert (code, out) == (2, "")
    assert err == f"venvsync: error: {lock}: the lock has no extra gui; it has: cli\n"


def test_select_missing_lock(capsys: pytest.CaptureFixture[str], tmp_path: Path, python312: Path) -> None:
    missing = tmp_path / "pylock.toml"
    code, out, err = _select(capsys, missing, python312, "--json")
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: {missing}: the lockfile does not exist; create it or set --lock to the right path\n"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param('lock-version = "1.0"\nnot toml\n', "is not valid TOML (", id="toml"),
        pytest.param(  # the standard library's tomllib recursed past the limit: a traceback (found by QA)
            'lock-version = "1.0"\nx = ' + "[" * 2000 + "]" * 2000 + "\n",
            "is not valid TOML (its arrays or inline tables are nested too deeply); ",
            id="nested-deep-small",
        ),
        pytest.param(  # tomli's own limit (a large file goes to tomli): a RecursionError, not its TOMLDecodeError
            'lock-version = "1.0"\nx = ' + "[" * 20000 + "]" * 20000 + "\n",
            "is not valid TOML (its arrays or inline tables are nested too deeply); ",
            id="nested-deep-large",
        ),
        pytest.param(
            tomli_w.dumps({"lock-version": "1.0", "created-by": "t", "packages": [{"name": "x", "version": 1}]}),
            "at packages[0].version: ",
            id="validation",
        ),
        pytest.param('lock-version = "2.0"\ncreated-by = "t"\npackages = []\n', "at lock-version: ", id="version"),
    ],
)
def test_select_bad_lock(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, python312: Path, content: str, reason: str
) -> None:
    bad = tmp_path / "pylock.toml"
    bad.write_text(content, encoding="utf-8")
    code, out, err = _select(capsys, bad, python312)
    assert (code, out) == (2, "")
    assert err.startswith(f"venvsync: error: {bad}")
    assert reason in err
    assert err.count("\n") == 1
    assert err.endswith("\n")
    assert "Traceback" not in err


def test_select_bad_marker_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, python312: Path) -> None:
    package = {**_package(tmp_path, "pkg"), "marker": "python_version >>> '3'"}
    bad = write_pylock(tmp_path / "pylock.toml", [package])
    code, _, err = _select(capsys, bad, python312)
    assert code == 2
    assert err.startswith(f"venvsync: error: {bad} at packages[0].marker: ")
    assert err.count("\n") == 1


def test_select_missing_python(capsys: pytest.CaptureFixture[str], lock: Path, tmp_path: Path) -> None:
    python = tmp_path / "no-python"
    code, out, err = _select(capsys, lock, python)
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: the interpreter {python} does not exist; pass --python with the path of a Python\n"
    )


@pytest.mark.usefixtures("cache_dir")
def test_a_relative_python_is_the_file_here_and_a_bare_name_the_one_on_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ./python3.12 is a link to Python 3.11 here; the python3.12 on PATH must not be the one asked
    python311 = shutil.which("python3.11")
    assert python311 is not None, "python3.11 is needed on PATH"
    ask = [python311, "-c", "import sys; print(sys.executable)"]  # the binary itself (PATH may hold a pyenv shim)
    binary = subprocess.run(ask, capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "python3.12").symlink_to(binary)
    packages = [
        _package(tmp_path, "before-312", marker="python_version < '3.12'"),
        _package(tmp_path, "from-312", marker="python_version >= '3.12'"),
    ]
    lock = write_pylock(tmp_path / "pylock.toml", packages)
    monkeypatch.chdir(tmp_path / "here")
    for _ in range(2):  # the second answer comes from the cache: it must be 3.11's too
        code, out, _ = _select(capsys, lock, "./python3.12")
        assert (code, out) == (0, "before-312==1.0 (wheel)\n")
    code, out, _ = _select(capsys, lock, "python3.12")  # a bare name is looked up on PATH, as a shell does
    assert (code, out) == (0, "from-312==1.0 (wheel)\n")
    code, out, _ = _select(capsys, lock, "3.12")  # a version is python3.12 on PATH, as uv --python 3.12 finds it
    assert (code, out) == (0, "from-312==1.0 (wheel)\n")


def test_a_python_name_not_on_path_is_one_sentence(capsys: pytest.CaptureFixture[str], lock: Path) -> None:
    code, out, err = _select(capsys, lock, "python2.1")
    assert (code, out) == (2, "")
    assert err == (
        "venvsync: error: the interpreter python2.1 is not on PATH; pass --python with the path of a Python, or a "
        "name on PATH\n"
    )


def test_a_python_version_not_on_path_names_what_was_looked_for(capsys: pytest.CaptureFixture[str], lock: Path) -> None:
    code, out, err = _select(capsys, lock, "3.1")
    assert (code, out) == (2, "")
    assert err == (
        "venvsync: error: the interpreter python3.1 (for 3.1) is not on PATH; pass --python with the path of a "
        "Python, or a name on PATH\n"
    )


@pytest.mark.parametrize("given", ["", "  "])
def test_an_empty_python_is_one_sentence_that_says_so(
    capsys: pytest.CaptureFixture[str], lock: Path, given: str
) -> None:
    # --python "$PY" with PY unset: "the interpreter  is not on PATH", two spaces around nothing (found by QA)
    code, out, err = _select(capsys, lock, given)
    assert (code, out) == (2, "")
    assert err == (
        "venvsync: error: --python is empty (an unset variable?); pass the path of a Python, a name on PATH or a "
        "version such as 3.12\n"
    )


@pytest.mark.parametrize("command", ["select", "sync"])
def test_the_help_of_python_names_every_form_it_takes(capsys: pytest.CaptureFixture[str], command: str) -> None:
    # --python 3.12 works (the test above) but the help named a path or a name on PATH only (found by QA)
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "a path, a name on PATH, or a version: 3.12" in " ".join(capsys.readouterr().out.split())


def test_select_python_that_is_a_directory(capsys: pytest.CaptureFixture[str], lock: Path, tmp_path: Path) -> None:
    code, out, err = _select(capsys, lock, tmp_path)
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: the interpreter {tmp_path} is a directory; pass --python with the path of a Python "
        "(its bin/python)\n"
    )


def test_select_requires_lock(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["select"])
    assert info.value.code == 2
    assert "the following arguments are required: --lock" in capsys.readouterr().err


def test_python_m_version() -> None:
    result = subprocess.run(
        [str(_python()), "-m", "tox_venvsync", "--version"], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, f"venvsync {__version__}\n", "")


def test_python_m_bad_lock(tmp_path: Path) -> None:
    missing = tmp_path / "pylock.toml"
    result = subprocess.run(
        [str(_python()), "-m", "tox_venvsync", "select", "--lock", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"venvsync: error: {missing}: the lockfile does not exist; create it or set --lock to the right path\n"
    )


def test_console_script(capsys: pytest.CaptureFixture[str]) -> None:
    script = _python().parent / "venvsync"
    if not script.exists():  # pragma: no cover - the dev venv always has it
        pytest.skip("no venvsync script next to the interpreter")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (0, f"venvsync {__version__}\n")
    assert capsys.readouterr() == ("", "")


def test_the_options_are_named_in_place_of_tox_settings_but_never_inside_a_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, python312: Path
) -> None:
    missing = tmp_path / "lock_file" / "env_location lock_format" / "pylock.toml"
    code, out, err = _select(capsys, missing, python312)
    assert (code, out) == (2, "")
    sentence = "the lockfile does not exist; create it or set --lock to the right path"
    assert err == f"venvsync: error: {missing}: {sentence}\n"


def test_a_path_or_a_file_named_like_a_setting_is_shown_as_it_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, python312: Path, lock: Path
) -> None:
    venv = tmp_path / "my env_location"  # a space, then a word the sentences use for the setting
    venv.mkdir()
    (venv / "env_location").write_text("mine\n")
    code = main(["sync", "--lock", str(lock), "--venv", str(venv), "--python", str(python312)])
    expected = (
        f"venvsync: error: refusing to use {venv} as a virtual environment: it holds files and no pyvenv.cfg "
        "(env_location), so it is not a virtual environment; choose an empty or missing directory for --venv\n"
    )
    assert (code, capsys.readouterr().err) == (2, expected)
    weird = tmp_path / "a lock_file b" / "weird.lock"
    weird.parent.mkdir()
    weird.write_text(lock.read_text())
    code = main(["select", "--lock", str(weird), "--python", str(python312)])
    expected = (
        f"venvsync: error: cannot tell the format of the lockfile {weird} from its "
        "name; pass --lock-format with one of pdm, poetry, pylock, requirements, uv\n"
    )
    assert (code, capsys.readouterr().err) == (2, expected)


def test_a_lock_whose_name_tells_no_format_says_how_to_name_one(
    capsys: pytest.CaptureFixture[str], lock: Path, python312: Path
) -> None:
    odd = lock.rename(lock.with_name("deps.lock"))
    code, out, err = _select(capsys, odd, python312)
    assert (code, out) == (2, "")
    assert err == (
        f"venvsync: error: cannot tell the format of the lockfile {odd} from its name; pass --lock-format with one "
        "of pdm, poetry, pylock, requirements, uv\n"
    )
    assert _select(capsys, odd, python312, "--lock-format", "pylock")[0] == 0
