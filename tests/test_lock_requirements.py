"""Tests of the hashed requirements.txt reader: the syntax, the lock rules, the selection and real files."""

from __future__ import annotations

import codecs
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from tox_venvsync._errors import LockFileError, SelectionError, command_line_names
from tox_venvsync._http import TRUSTED_HOSTS_ENV
from tox_venvsync._lock import (
    Artifact,
    DirectorySource,
    Pick,
    Request,
    SourceKind,
    VcsSource,
    _requirements,
    detect_format,
    read_lock,
)
from tox_venvsync._lock._requirements import IndexOptions, RequirementsFile, read_requirements
from tox_venvsync._target import Target, query_interpreter

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

DATA = Path(__file__).parent / "data" / "lockfiles" / "requirements"
EXPECTED = Path(__file__).parent / "data" / "expected" / "requirements"
ALLOWED_KINDS = frozenset(get_args(SourceKind))
H1, H2, H3 = "a" * 64, "b" * 64, "c" * 96
COMMIT = "0123456789abcdef0123456789abcdef01234567"
NOT_A_LOCK = "so this file is not a lock; generate it with pip-compile --generate-hashes or uv export"
KNOWN = (
    "a lock's requirements file holds requirements with --hash and the options -i/--index-url, --extra-index-url, "
    "-f/--find-links, --no-index, --no-binary, --only-binary, --prefer-binary and -e"
)
MINORS = ("3.10", "3.12", "3.13")


@pytest.fixture(scope="module")
def targets() -> dict[str, Target]:
    found = {}
    for minor in MINORS:
        executable = shutil.which(f"python{minor}")
        if executable is None:
            pytest.fail(f"python{minor} is not on PATH; install it (pyenv install {minor}) to run the suite")
        found[minor] = query_interpreter(Path(executable))
    return found


@pytest.fixture(scope="module")
def target(targets: dict[str, Target]) -> Target:
    return targets["3.12"]


def _write(tmp_path: Path, text: str, name: str = "requirements.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _read(tmp_path: Path, text: str) -> RequirementsFile:
    return read_requirements(_write(tmp_path, text))


def _error(tmp_path: Path, text: str) -> LockFileError:
    path = _write(tmp_path, text)
    with pytest.raises(LockFileError) as info:
        read_requirements(path)
    assert info.value.path == path
    assert str(info.value) == f"{path} at {info.value.context}: {info.value.reason}"
    return info.value


def _only(lock: RequirementsFile, target: Target) -> Pick:
    (pick,) = lock.select(target, Request())
    return pick


def _names(picks: Sequence[Pick]) -> list[str]:
    return [str(pick.name) for pick in picks]


def _project(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True)
    (directory / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "1"\n', encoding="utf-8")
    return directory


# --- reading the file --------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    with pytest.raises(LockFileError) as info:
        read_requirements(path)
    assert str(info.value) == f"{path}: the lockfile does not exist; create it or set lock_file to the right path"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(LockFileError) as info:
        read_requirements(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a directory, not a lockfile; set lock_file to a file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"# caf\xe9\n")
    with pytest.raises(LockFileError) as info:
        read_requirements(path)
    assert str(info.value) == f"{path}: is not UTF-8 text (byte 5); is this the right file?"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_read_as_pip_and_uv_read_them(
    tmp_path: Path, target: Target, encoding: str
) -> None:
    # Windows PowerShell 5's `uv export > requirements.txt` writes UTF-16 with a mark and CRLF lines: pip and uv
    # install from it, and the file stopped as "is not UTF-8 text (byte 0)" (found by QA)
    path = tmp_path / "requirements.txt"
    text = f"\ufeff# caf\u00e9\r\npkg==1.0 \\\r\n    --hash=sha256:{H1}\r\nother==2.0 --hash=sha256:{H2}\r\n"
    path.write_bytes(text.encode(encoding))
    assert _names(read_requirements(path).select(target, Request())) == ["pkg", "other"]
    path.write_bytes(codecs.BOM_UTF16_LE + b"p\x00\x00\xd8")  # an unpaired surrogate
    with pytest.raises(LockFileError) as info:
        read_requirements(path)
    assert str(info.value) == f"{path}: is not UTF-16 text after its byte order mark (byte 4); is this the right file?"


def test_byte_order_mark_and_empty_file(tmp_path: Path, target: Target) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(f"\ufeffpkg==1.0 --hash=sha256:{H1}\n".encode())
    assert _names(read_requirements(path).select(target, Request())) == ["pkg"]
    assert _read(tmp_path, "# only comments\n\n   \n").select(target, Request()) == []


def test_read_lock_detects_and_accepts_the_format(tmp_path: Path) -> None:
    for name in ("requirements.txt", "test.in"):
        path = _write(tmp_path, f"pkg==1.0 --hash=sha256:{H1}\n", name)
        assert detect_format(path) == "requirements"
        assert isinstance(read_lock(path), RequirementsFile)
    lock = read_lock(_write(tmp_path, f"pkg==1.0 --hash=sha256:{H1}\n", "locked"), "requirements")
    assert lock.format == "requirements"
    assert lock.path == tmp_path / "locked"


# --- lines, continuations and comments ---------------------------------------------------------------------------


def test_continuations_comments_and_contexts(tmp_path: Path, target: Target) -> None:
    text = (
        "# header\n"
        "\n"
        "first==1.0 \\\n"
        f"    --hash=sha256:{H1} \\\n"
        f"    --hash=sha256:{H2}\n"
        "    # via second\n"
        f"second==2.0 --hash=sha256:{H1}  # a trailing comment\n"
        "third==3.0 \\\n"
        "    # a comment ends a continuation, as pip reads it\n"
        f"    --hash=sha256:{H1}\n"
    )
    error = _error(tmp_path, text)
    # the comment ended "third==3.0 \", so it has no hash, and the lone --hash line is an option line
    assert error.context == "line 8"
    assert error.reason == f"requirement 'third==3.0' is not pinned with == and --hash, {NOT_A_LOCK}"
    lock = _read(tmp_path, text.split("third", maxsplit=1)[0])
    picks = lock.select(target, Request())
    assert [(p.name, p.version, p.context) for p in picks] == [
        ("first", Version("1.0"), "line 3"),
        ("second", Version("2.0"), "line 7"),
    ]
    assert picks[0].lookup is not None
    assert picks[0].lookup.hashes == {"sha256": frozenset({H1, H2})}


def test_a_backslash_joins_its_line_to_the_next_as_it_is_without_a_space(tmp_path: Path, target: Target) -> None:
    # pip takes only the backslash away: a hash cut in two across lines is one hash again
    lock = _read(tmp_path, f"pkg==1.0 --hash=sha256:{H1[:20]}\\\n{H1[20:]}\n")
    lookup = _only(lock, target).lookup
    assert lookup is not None
    assert lookup.hashes == {"sha256": frozenset({H1})}


def test_a_lone_hash_line_is_refused(tmp_path: Path) -> None:
    error = _error(tmp_path, f"pkg==1.0 --hash=sha256:{H1}\n--hash=sha256:{H2}\n")
    assert (error.context, error.reason) == (
        "line 2",
        (
            f"--hash=sha256:{H2} stands on a line without a requirement; put it on its requirement's line "
            "(is the backslash at the end of the line before missing?)"
        ),
    )


def test_trailing_backslash_at_the_end_of_the_file(tmp_path: Path, target: Target) -> None:
    lock = _read(tmp_path, f"pkg==1.0 \\\n  --hash=sha256:{H1} \\\n")
    assert _only(lock, target).context == "line 1"


def test_a_file_url_to_a_path_no_file_can_have_is_one_sentence(tmp_path: Path) -> None:
    # %00 decodes to a NUL byte, which no path may hold: resolving it raised ValueError
    error = _error(tmp_path, f"file:///wheels/pkg%00-1.0-py3-none-any.whl --hash=sha256:{H1}\n")
    assert (error.context, error.reason) == (
        "line 1",
        "file:///wheels/pkg%00-1.0-py3-none-any.whl is not a usable path (embedded null byte); correct the line",
    )


@pytest.mark.parametrize("location", ["//[x]", "http://[::1/x.whl", "file://[not-an-ip]/x.whl"])
def test_a_location_that_is_no_valid_url_is_one_sentence(tmp_path: Path, location: str) -> None:
    # found by the mutation test in CI: "//[x]" ended in ipaddress's ValueError traceback (urlsplit checks a
    # bracketed host)
    error = _error(tmp_path, f"{location}\n")
    # Python 3.11.4 and later check the bracketed host ("not a valid URL or path (Invalid IPv6 URL)"); 3.10 lets it
    # through to the next check ("not a path, a file: URL, ...")
    assert error.reason.startswith(f"{location} is not a ")
    assert error.reason.endswith("; correct the line")  # what to do, which it did not say (found by QA)
    assert error.context == "line 1"


def test_a_hash_sign_inside_a_url_is_no_comment(tmp_path: Path, target: Target) -> None:
    lock = _read(tmp_path, f"-e git+https://example.invalid/repo.git@{COMMIT}#egg=pkg\n")
    pick = _only(lock, target)
    assert pick.name == "pkg"


# --- the lock rules ----------------------------------------------------------------------------------------------


def test_unpinned_requirement_names_the_line(tmp_path: Path) -> None:
    pins = "".join(f"pkg{i}==1.0 --hash=sha256:{H1}\n" for i in range(11))
    error = _error(tmp_path, f"{pins}requests>=2 --hash=sha256:{H1}\n")
    assert error.context == "line 12"
    assert error.reason == (
        "requirement 'requests>=2' is not pinned with == and --hash, so this file is not a lock; "
        "generate it with pip-compile --generate-hashes or uv export"
    )


@pytest.mark.parametrize(
    ("line", "spelled"),
    [
        pytest.param("requests==2.0", "requests==2.0", id="no-hash"),
        pytest.param(f"requests==2.* --hash=sha256:{H1}", "requests==2.*", id="wildcard"),
        pytest.param(f"requests --hash=sha256:{H1}", "requests", id="no-version"),
        pytest.param(f"Requests[socks,a]<3,==2.0 --hash=sha256:{H1}", "Requests[a,socks]<3,==2.0", id="two-specifiers"),
        pytest.param(f'requests~=2.0 ; python_version < "3.11" --hash=sha256:{H1}', "requests~=2.0", id="marker"),
    ],
)
def test_not_a_lock(tmp_path: Path, line: str, spelled: str) -> None:
    error = _error(tmp_path, f"{line}\n")
    assert (error.context, error.reason) == (
        "line 1",
        f"requirement {spelled!r} is not pinned with == and --hash, {NOT_A_LOCK}",
    )


def test_an_input_file_is_not_a_lock() -> None:
    path = DATA / "pip-compile-markers.in"
    with pytest.raises(LockFileError) as info:
        read_lock(path)
    assert info.value.context == "line 2"
    assert info.value.reason == f"requirement 'attrs' is not pinned with == and --hash, {NOT_A_LOCK}"


def test_arbitrary_equality_and_extras(tmp_path: Path, target: Target) -> None:
    lock = _read(tmp_path, f"pkg[extra]===1.0 --hash=sha256:{H1}\n")
    assert (_only(lock, target).name, _only(lock, target).version) == ("pkg", Version("1.0"))
    error = _error(tmp_path, f"pkg===foo --hash=sha256:{H1}\n")
    assert error.reason == "pkg is pinned to 'foo', which is not a version; pin a real version"


def test_hash_algorithms_and_case(tmp_path: Path, target: Target) -> None:
    lock = _read(tmp_path, f"pkg==1.0 --hash=SHA256:{H1.upper()} --hash sha384:{H3}\n")
    lookup = _only(lock, target).lookup
    assert lookup is not None
    assert lookup.hashes == {"sha256": frozenset({H1}), "sha384": frozenset({H3})}


@pytest.mark.parametrize(
    "value",
    [f"md5:{'a' * 32}", f"sha1:{'a' * 40}", "sha256:abc", f"sha256:{'g' * 64}", H1, "sha256:", f"sha384:{H1}"],
)
def test_bad_hashes(tmp_path: Path, value: str) -> None:
    error = _error(tmp_path, f"pkg==1.0 --hash={value}\n")
    assert error.reason == (
        f"--hash={value} is not a sha256, sha384 or sha512 digest written algorithm:hex; re-generate the file"
    )


def test_invalid_requirement(tmp_path: Path) -> None:
    error = _error(tmp_path, f"pkg==1.0 ; python_version <<< '3' --hash=sha256:{H1}\n")
    assert error.context == "line 1"
    assert error.reason == (
        "\"pkg==1.0 ; python_version <<< '3'\" is not a valid requirement (Expected a marker variable or quoted "
        "string); correct the line"
    )


def test_unbalanced_quotes(tmp_path: Path) -> None:
    error = _error(tmp_path, "--index-url 'https://example.invalid\n")
    assert error.reason == (
        'cannot split the options "--index-url \'https://example.invalid" (No closing quotation); fix the quotes'
    )


# --- options -----------------------------------------------------------------------------------------------------


def test_index_options_are_recorded(tmp_path: Path, target: Target) -> None:
    text = (
        f"pkg==1.0 --hash=sha256:{H1}\n"
        "--extra-index-url https://extra.invalid/simple\n"
        "-f ./wheels\n"
        "--find-links=https://links.invalid/\n"
        "--extra-index-url=https://extra2.invalid/simple\n"
        "--no-index\n"
        "--require-hashes\n"
        "-i https://first.invalid/simple\n"
        "--index-url=https://index.invalid/simple\n"  # pip: the last one wins
    )
    lock = _read(tmp_path, text)
    assert lock.options == IndexOptions(
        index_url="https://index.invalid/simple",
        extra_index_urls=("https://extra.invalid/simple", "https://extra2.invalid/simple"),
        find_links=("./wheels", "https://links.invalid/"),
        no_index=True,
    )
    assert _only(lock, target).index == "https://index.invalid/simple"  # a global option, though it comes later
    assert _only(_read(tmp_path, f"-ihttps://short.invalid/\npkg==1.0 --hash=sha256:{H1}\n"), target).index == (
        "https://short.invalid/"
    )


_BOTH, _WHEELS, _SDIST = frozenset({"binary", "source"}), frozenset({"binary"}), frozenset({"source"})


@pytest.mark.parametrize(
    ("options", "formats"),
    [
        pytest.param("", {"a": _BOTH, "b": _BOTH}, id="none"),
        pytest.param("--prefer-binary", {"a": _BOTH, "b": _BOTH}, id="prefer-binary"),
        pytest.param("--only-binary :all:", {"a": _WHEELS, "b": _WHEELS}, id="only-binary-all"),
        pytest.param("--no-binary=:all:", {"a": _SDIST, "b": _SDIST}, id="no-binary-all"),
        pytest.param("--only-binary :all:\n--no-binary A", {"a": _SDIST, "b": _WHEELS}, id="a-name-over-all"),
        pytest.param("--no-binary a,b\n--only-binary b", {"a": _SDIST, "b": _WHEELS}, id="moved-to-the-other"),
        pytest.param("--no-binary a\n--no-binary :none:", {"a": _BOTH, "b": _BOTH}, id="none-empties"),
        pytest.param("--no-binary a\n--only-binary :all:", {"a": _WHEELS, "b": _WHEELS}, id="all-empties-both"),
    ],
)
def test_no_binary_and_only_binary_are_read_as_pip_reads_them(
    tmp_path: Path, target: Target, options: str, formats: dict[str, frozenset[str]]
) -> None:
    """pip-compile writes them into its output (from requirements.in or its command line): pip's FormatControl.

    The file was refused (``unknown option '--only-binary'``), though pip installs it (found by QA).
    """
    lock = _read(tmp_path, f"{options}\na==1.0 --hash=sha256:{H1}\nb==1.0 --hash=sha256:{H2}\n")
    found = {str(pick.name): pick.lookup.formats for pick in lock.select(target, Request()) if pick.lookup}
    assert found == formats


def test_a_format_option_needs_names(tmp_path: Path) -> None:
    error = _error(tmp_path, f"--only-binary --no-index\npkg==1.0 --hash=sha256:{H1}\n")
    assert (error.context, error.reason) == (
        "line 1",
        "--only-binary needs :all:, :none: or package names, not '--no-index'",
    )


def test_a_relative_find_links_path_is_taken_beside_the_file_when_it_is_there(tmp_path: Path) -> None:
    # pip's rule: relative to the requirements file if such a path exists there, else as given
    (tmp_path / "wheels").mkdir()
    lock = _read(tmp_path, f"-f wheels\n--find-links ./absent\n-f file:///srv/wheels\npkg==1.0 --hash=sha256:{H1}\n")
    assert lock.options.find_links == (str(tmp_path / "wheels"), "./absent", "file:///srv/wheels")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        pytest.param("--pre", f"unknown option '--pre'; {KNOWN}", id="pre"),
        pytest.param("-x", f"unknown option '-x'; {KNOWN}", id="short"),
        pytest.param("--index-url", "the option --index-url needs a value", id="no-value"),
        pytest.param("--editable=", "the option --editable needs a value", id="empty-value"),
        pytest.param("-e ''", "the option -e needs a value", id="empty-token"),
        pytest.param("pkg==1.0 --hash=", "the option --hash needs a value", id="empty-hash"),
        pytest.param("--no-index stray", f"unknown option 'stray'; {KNOWN}", id="stray"),
        pytest.param(
            f"pkg==1.0 --hash=sha256:{H1} --index-url https://x.invalid",
            f"--index-url cannot follow a requirement; only --hash can: {KNOWN}",
            id="option-on-a-requirement",
        ),
        pytest.param(
            f"pkg==1.0 --config-settings a=b --hash=sha256:{H1}",
            f"unknown option '--config-settings'; {KNOWN}",
            id="per-requirement-option",
        ),
        pytest.param("--no-index -e .", "-e . must start its own line", id="late-e"),
    ],
)
def test_unknown_and_misplaced_options(tmp_path: Path, line: str, reason: str) -> None:
    error = _error(tmp_path, f"# header\n{line}\n")
    assert (error.context, error.reason) == ("line 2", reason)


@pytest.mark.parametrize(
    "line",
    ["-r other.txt", "-c constraints.txt", "--requirement=other.txt", "-rother.txt", f"pkg==1 --hash=sha256:{H1} -r x"],
)
def test_includes_are_refused(tmp_path: Path, line: str) -> None:
    error = _error(tmp_path, f"{line}\n")
    assert (error.context, error.reason) == (
        "line 1",
        "includes are not supported in a lock; flatten it (pip-compile does)",
    )


# --- editables and local directories -----------------------------------------------------------------------------


def test_editable_directories(tmp_path: Path, target: Target) -> None:
    _project(tmp_path / "app", "My_App")
    _project(tmp_path / "lib", "lib")
    (tmp_path / "bare").mkdir()
    text = "-e ./app\n--editable=file:lib\n-e bare#egg=Bare.Pkg\n"
    picks = _read(tmp_path, text).select(target, Request())
    assert [(p.name, p.kind, p.version, p.directory) for p in picks] == [
        ("my-app", "directory", None, DirectorySource(path=tmp_path / "app", editable=True)),
        ("lib", "directory", None, DirectorySource(path=tmp_path / "lib", editable=True)),
        ("bare-pkg", "directory", None, DirectorySource(path=tmp_path / "bare", editable=True)),
    ]


def test_trusted_host_is_refused_with_what_to_do_instead(tmp_path: Path) -> None:
    # pip-compile copies --trusted-host into the file; certificates are always checked here
    error = _error(tmp_path, f"--trusted-host 127.0.0.1\nsix==1.16.0 --hash=sha256:{H1}\n")
    assert error.reason.startswith(
        "--trusted-host is not read from a lock: certificates are always checked, and plain http to a host needs "
        "TOX_VENVSYNC_TRUSTED_HOSTS=<host> in the environment; delete the line"
    )
    assert _requirements.TRUSTED_HOSTS_ENV == TRUSTED_HOSTS_ENV  # one name, kept in two modules


def test_relative_paths_start_where_pip_starts_them(tmp_path: Path, target: Target) -> None:
    # pip-compile -o requirements/dev.txt writes "-e ." for the directory it ran in, as pip and uv read it
    _project(tmp_path / "proj", "proj")
    _project(tmp_path / "proj" / "requirements", "not-this-one")  # what "." would be beside the file
    lock = _write(tmp_path / "proj" / "requirements", "-e .\n")
    [pick] = read_requirements(lock, tmp_path / "proj").select(target, Request())
    assert (pick.name, pick.directory) == ("proj", DirectorySource(path=tmp_path / "proj", editable=True))
    [beside] = read_requirements(lock).select(target, Request())  # without a start: the file's own directory
    assert beside.name == "not-this-one"


def test_a_directory_whose_pyproject_starts_with_a_byte_order_mark_has_its_name_told(
    tmp_path: Path, target: Target
) -> None:
    # found by QA: uv reads such a pyproject.toml (and so does the uv.lock reader); "-e ." of uv export was refused
    # with "cannot tell the package name of ."
    pyproject = _project(tmp_path / "proj", "proj") / "pyproject.toml"
    pyproject.write_bytes(codecs.BOM_UTF8 + pyproject.read_bytes())
    [pick] = read_requirements(_write(tmp_path / "proj", "-e .\n")).select(target, Request())
    assert pick.name == "proj"


def test_a_directory_whose_pyproject_is_nested_too_deeply_has_no_name_to_tell(tmp_path: Path) -> None:
    # the parser's RecursionError went up as a traceback (found by QA)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "pyproject.toml").write_text("x = " + "[" * 2000 + "]" * 2000 + "\n", encoding="utf-8")
    error = _error(tmp_path, "-e ./proj\n")
    assert error.reason == (
        "cannot tell the package name of ./proj; write the line as 'name @ ./proj' or add #egg=name"
    )


def test_uv_export_self_editable(tmp_path: Path, target: Target) -> None:
    _project(tmp_path / "proj", "proj")
    (tmp_path / "proj" / "libs").mkdir()
    lock = read_requirements(_write(tmp_path / "proj", "-e .\n./libs/../\n"))
    with pytest.raises(SelectionError):  # the same project twice
        lock.select(target, Request())
    pick = lock.pins[1].pick
    assert (pick.name, pick.directory) == ("proj", DirectorySource(path=tmp_path / "proj", editable=False))


def test_directory_reference_by_name(tmp_path: Path, target: Target) -> None:
    lib = _project(tmp_path / "lib", "lib")
    pick = _only(_read(tmp_path, f"other @ {lib.as_uri()}#subdirectory=sub\n"), target)
    assert (pick.name, pick.directory) == ("other", DirectorySource(path=lib, editable=False, subdirectory="sub"))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        pytest.param(
            "-e ./nowhere",
            "cannot tell the package name of ./nowhere; write the line as 'name @ ./nowhere' or add #egg=name",
            id="no-name",
        ),
        pytest.param(
            "-e ./nowhere#egg=-bad-",
            "cannot tell the package name of ./nowhere#egg=-bad-; write the line as 'name @ ./nowhere#egg=-bad-' "
            "or add #egg=name",
            id="bad-egg",
        ),
        pytest.param(
            "-e https://example.invalid/pkg-1.0-py3-none-any.whl",
            "-e https://example.invalid/pkg-1.0-py3-none-any.whl is not a local directory or a VCS URL; "
            "only those can be installed editable",
            id="remote",
        ),
        pytest.param(
            f"-e ./app --hash=sha256:{H1}",
            "-e ./app is followed by --hash; an editable requirement takes no options and no hash",
            id="hash",
        ),
        pytest.param(
            f"./app --hash=sha256:{H1}",
            "--hash cannot check the directory ./app; remove the --hash options from this line",
            id="directory-hash",
        ),
        pytest.param(
            "-e git+https://example.invalid/repo.git@main#egg=pkg",
            "git+https://example.invalid/repo.git@main#egg=pkg is not pinned to a commit; "
            "pin it to a full 40-hex commit (pip-compile and uv export do)",
            id="vcs-branch",
        ),
        pytest.param(
            "pkg @ git+https://example.invalid/repo.git",
            "git+https://example.invalid/repo.git is not pinned to a commit; "
            "pin it to a full 40-hex commit (pip-compile and uv export do)",
            id="vcs-no-ref",
        ),
        pytest.param(
            f"pkg @ git+https://example.invalid/repo.git@{COMMIT} --hash=sha256:{H1}",
            f"--hash cannot check the VCS checkout git+https://example.invalid/repo.git@{COMMIT}; "
            "remove the --hash options from this line",
            id="vcs-hash",
        ),
        pytest.param(
            f"git+https://example.invalid/repo.git@{COMMIT}",
            f"cannot tell the package name of git+https://example.invalid/repo.git@{COMMIT}; write the line as "
            f"'name @ git+https://example.invalid/repo.git@{COMMIT}' or add #egg=name",
            id="vcs-no-name",
        ),
        pytest.param(  # an option of git clone's: found by QA of hostile lockfiles
            f"pkg @ git+--upload-pack=touch%20x@{COMMIT}",
            "'--upload-pack=touch%20x' is no git URL that pip or uv clones: use https://, ssh://, "
            "git://, http:// or file:// (or user@host:path); correct the line",
            id="vcs-git-option",
        ),
    ],
)
def test_editable_and_vcs_errors(tmp_path: Path, line: str, reason: str) -> None:
    (tmp_path / "app").mkdir()
    error = _error(tmp_path, f"{line}\n")
    assert (error.context, error.reason) == ("line 1", reason)


def test_vcs_picks(tmp_path: Path, target: Target) -> None:
    text = (
        f"-e git+https://example.invalid/org/repo.git@{COMMIT.upper()}#egg=editable_pkg&subdirectory=src/pkg\n"
        f"plain @ git+ssh://git@example.invalid/org/plain.git@{COMMIT}\n"
    )
    picks = _read(tmp_path, text).select(target, Request())
    assert [(p.name, p.kind, p.version, p.vcs) for p in picks] == [
        (
            "editable-pkg",
            "vcs",
            None,
            VcsSource(
                type="git",
                url="https://example.invalid/org/repo.git",
                commit=COMMIT,
                requested=COMMIT.upper(),
                subdirectory="src/pkg",
            ),
        ),
        (
            "plain",
            "vcs",
            None,
            VcsSource(type="git", url="ssh://git@example.invalid/org/plain.git", commit=COMMIT, requested=COMMIT),
        ),
    ]


# --- direct references to files ----------------------------------------------------------------------------------


def test_url_wheel_and_archive(tmp_path: Path, target: Target) -> None:
    text = (
        f"Pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl#egg=ignored --hash=sha256:{H1}\n"
        f"src @ https://example.invalid/src-2.0.tar.gz --hash=sha384:{H3}\n"
        f"snapshot @ https://example.invalid/download/snapshot.zip --hash=sha256:{H2}\n"
    )
    picks = _read(tmp_path, text).select(target, Request())
    assert picks == [
        Pick(
            name="pkg",  # type: ignore[arg-type]  # a NormalizedName
            version=Version("1.0"),
            kind="wheel",
            artifact=Artifact(
                filename="pkg-1.0-py3-none-any.whl",
                url="https://example.invalid/pkg-1.0-py3-none-any.whl",
                path=None,
                size=None,
                hashes={"sha256": H1},
            ),
            context="line 1",
        ),
        Pick(
            name="src",  # type: ignore[arg-type]  # a NormalizedName
            version=Version("2.0"),
            kind="archive",
            artifact=Artifact(
                filename="src-2.0.tar.gz",
                url="https://example.invalid/src-2.0.tar.gz",
                path=None,
                size=None,
                hashes={"sha384": H3},
            ),
            context="line 2",
        ),
        Pick(
            name="snapshot",  # type: ignore[arg-type]  # a NormalizedName
            version=None,
            kind="archive",
            artifact=Artifact(
                filename="snapshot.zip",
                url="https://example.invalid/download/snapshot.zip",
                path=None,
                size=None,
                hashes={"sha256": H2},
            ),
            context="line 3",
        ),
    ]


def test_local_files_and_bare_references(tmp_path: Path, target: Target) -> None:
    wheel = tmp_path / "wheels" / "pkg-1.0-py3-none-any.whl"
    text = (
        f"pkg @ {wheel.as_uri()} --hash=sha256:{H1}\n"
        f"./wheels/other-2.0-py3-none-any.whl ; python_version >= '3' --hash=sha256:{H1}\n"
        f"./sdists/third-3.0.tar.gz --hash=sha256:{H1}\n"
        f"https://example.invalid/fourth-4.0-py3-none-any.whl ; python_version < '3' --hash=sha256:{H1}\n"
        f"./wheels/fifth-5.0-py3-none-any.whl;python_version<'3' --hash=sha256:{H1}\n"  # a path: split at its ;
    )
    picks = _read(tmp_path, text).select(target, Request())
    assert [(p.name, p.kind, p.version, p.artifact.path if p.artifact else None) for p in picks] == [
        ("pkg", "wheel", Version("1.0"), wheel),
        ("other", "wheel", Version("2.0"), tmp_path / "wheels" / "other-2.0-py3-none-any.whl"),
        ("third", "archive", Version("3.0"), tmp_path / "sdists" / "third-3.0.tar.gz"),
    ]
    assert all(p.artifact is not None and p.artifact.url is None for p in picks)


def test_a_digest_in_the_url_is_a_hash_as_pip_takes_it(tmp_path: Path, target: Target) -> None:
    # pip's hash-checking mode takes a link's #sha256= as one of the file's allowed digests
    wheel = tmp_path / "wheels" / "pkg-1.0-py3-none-any.whl"
    text = (
        f"pkg @ {wheel.as_uri()}#sha256={H1.upper()}\n"
        f"other @ https://example.invalid/other-2.0.tar.gz#sha256={H2}&subdirectory=x\n"
        f"third @ https://example.invalid/third-3.0-py3-none-any.whl#sha256={H1} --hash=sha256:{H1}\n"
    )
    lock = _read(tmp_path, text)
    picks = lock.select(target, Request())
    assert [(p.name, p.artifact.hashes if p.artifact else None) for p in picks] == [
        ("pkg", {"sha256": H1}),
        ("other", {"sha256": H2}),
        ("third", {"sha256": H1}),
    ]
    assert [p.artifact.url for p in picks if p.artifact] == [
        None,
        "https://example.invalid/other-2.0.tar.gz",
        "https://example.invalid/third-3.0-py3-none-any.whl",
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        pytest.param(
            "pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl",
            f"https://example.invalid/pkg-1.0-py3-none-any.whl has no --hash (nor #sha256= in its URL), so its "
            f"bytes cannot be checked and {NOT_A_LOCK}",
            id="no-hash",
        ),
        pytest.param(
            f"pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl#md5={'0' * 32}",
            f"https://example.invalid/pkg-1.0-py3-none-any.whl#md5={'0' * 32} has no --hash (nor #sha256= in its "
            f"URL), so its bytes cannot be checked and {NOT_A_LOCK}",
            id="md5-in-url",
        ),
        pytest.param(
            "pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl#sha256=abc",
            "#sha256=abc in https://example.invalid/pkg-1.0-py3-none-any.whl#sha256=abc is not a sha256 digest in "
            "hex; re-generate the file",
            id="short-digest-in-url",
        ),
        pytest.param(
            f"pkg @ https://example.invalid/pkg-1.0.tar.gz --hash=sha256:{H1} --hash=sha256:{H2}",
            "https://example.invalid/pkg-1.0.tar.gz is one file but has several digests of one algorithm (in --hash "
            "or its URL); keep the right one",
            id="two-digests",
        ),
        pytest.param(
            f"pkg @ https://example.invalid/pkg-1.0.tar.gz#sha256={H2} --hash=sha256:{H1}",
            f"https://example.invalid/pkg-1.0.tar.gz#sha256={H2} is one file but has several digests of one "
            "algorithm (in --hash or its URL); keep the right one",
            id="url-and-option-differ",
        ),
        pytest.param(
            f"pkg @ https://example.invalid/other-1.0-py3-none-any.whl --hash=sha256:{H1}",
            "the requirement pkg @ https://example.invalid/other-1.0-py3-none-any.whl points at a wheel of other; "
            "fix the name or the URL",
            id="wrong-wheel",
        ),
        pytest.param(
            f"https://example.invalid/not-a-wheel.whl --hash=sha256:{H1}",
            "https://example.invalid/not-a-wheel.whl: Invalid wheel filename (wrong number of parts): 'not-a-wheel'; "
            "correct the line",
            id="bad-wheel-name",
        ),
        pytest.param(
            f"https://example.invalid/archive.tar.gz --hash=sha256:{H1}",
            "cannot tell the package name of https://example.invalid/archive.tar.gz; write the line as "
            "'name @ https://example.invalid/archive.tar.gz' or add #egg=name",
            id="archive-without-name",
        ),
        pytest.param(
            f"pkg @ https://example.invalid/pkg --hash=sha256:{H1}",
            "https://example.invalid/pkg is neither a wheel nor an archive (.tar.gz, .tgz, .tar.bz2, .tbz, .tar.xz, "
            ".txz, .tar, .zip); point at a file",
            id="not-a-file",
        ),
        pytest.param(
            f"pkg @ ftp://example.invalid/pkg-1.0.tar.gz --hash=sha256:{H1}",
            "ftp://example.invalid/pkg-1.0.tar.gz is not a path, a file: URL, an http(s) URL or a VCS URL "
            "(git+, hg+, svn+, bzr+); correct the line",
            id="scheme",
        ),
        pytest.param(
            f"pkg @ file://server/share/pkg-1.0.tar.gz --hash=sha256:{H1}",
            "file://server/share/pkg-1.0.tar.gz is not a path, a file: URL, an http(s) URL or a VCS URL "
            "(git+, hg+, svn+, bzr+); correct the line",
            id="remote-file-url",
        ),
        pytest.param(
            "./app ; python_version <<< '3'",
            "\"python_version <<< '3'\" is not a valid marker (Expected a marker variable or quoted string); "
            "correct the line",
            id="bad-marker",
        ),
    ],
)
def test_direct_reference_errors(tmp_path: Path, line: str, reason: str) -> None:
    error = _error(tmp_path, f"{line}\n")
    assert (error.context, error.reason) == ("line 1", reason)


# --- selection ---------------------------------------------------------------------------------------------------


MARKED = (
    f"always==1.0 --hash=sha256:{H1}\n"
    f"old==1.0 ; python_version < '3.11' --hash=sha256:{H1}\n"
    f"fork==1.0 ; python_full_version < '3.13' --hash=sha256:{H1}\n"
    f"fork==2.0 ; python_full_version >= '3.13' --hash=sha256:{H2}\n"
    f"windows==1.0 ; sys_platform == 'win32' --hash=sha256:{H1}\n"
    f"extra-only==1.0 ; extra == 'docs' --hash=sha256:{H1}\n"
)


@pytest.mark.parametrize(
    ("minor", "expected"),
    [
        ("3.10", [("always", "1.0"), ("old", "1.0"), ("fork", "1.0")]),
        ("3.12", [("always", "1.0"), ("fork", "1.0")]),
        ("3.13", [("always", "1.0"), ("fork", "2.0")]),
    ],
)
def test_markers_select(
    tmp_path: Path, targets: dict[str, Target], minor: str, expected: list[tuple[str, str]]
) -> None:
    picks = _read(tmp_path, MARKED).select(targets[minor], Request())
    assert [(str(p.name), str(p.version)) for p in picks] == expected


def test_duplicate_selection(tmp_path: Path, target: Target) -> None:
    lock = _read(tmp_path, f"pkg==1.0 --hash=sha256:{H1}\n# between\nPKG==2.0 --hash=sha256:{H2}\n")
    with pytest.raises(SelectionError) as info:
        lock.select(target, Request())
    assert info.value.reason == (
        f"pkg is selected twice, at line 1 and line 3, for the interpreter {target.executable} "
        f"(Python {target.python_full_version}); keep one line per package or make their markers exclusive"
    )


def test_the_same_pin_twice_is_one_install_as_pip_makes(tmp_path: Path, target: Target) -> None:
    # both markers hold here: pip installs it once; a different hash is still two pins
    text = f"pkg==1.0 ; python_version >= '3' --hash=sha256:{H1}\npkg==1.0 ; os_name == 'posix' --hash=sha256:{H1}\n"
    [pick] = _read(tmp_path, text).select(target, Request())
    assert (pick.name, pick.context) == ("pkg", "line 1")
    with pytest.raises(SelectionError):
        _read(tmp_path, text.replace(f"'posix' --hash=sha256:{H1}", f"'posix' --hash=sha256:{H2}")).select(
            target, Request()
        )


def test_environment_variables_are_expanded_as_pip_expands_them(
    tmp_path: Path, target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_HOST", "index.example")
    monkeypatch.setenv("QA_TOKEN", "s3cret")
    monkeypatch.delenv("QA_UNSET", raising=False)
    text = (
        "--index-url https://ci:${QA_TOKEN}@${QA_HOST}/simple\n"
        "--extra-index-url https://${QA_UNSET}/simple\n"  # unset: left as it is, as pip leaves it
        "--find-links https://${qa_host}/links\n"  # pip's names are capitals, digits and underscores only
        f"direct @ https://${{QA_HOST}}/direct-1.0-py3-none-any.whl --hash=sha256:{H1}\n"
        f"pkg==1.0 --hash=sha256:{H2}\n"
    )
    lock = _read(tmp_path, text)
    assert lock.options.index_url == "https://ci:s3cret@index.example/simple"
    assert lock.options.extra_index_urls == ("https://${QA_UNSET}/simple",)
    assert lock.options.find_links == ("https://${qa_host}/links",)
    direct = next(p for p in lock.select(target, Request()) if p.name == "direct")
    assert direct.artifact is not None
    assert direct.artifact.url == "https://index.example/direct-1.0-py3-none-any.whl"


@pytest.mark.parametrize(
    ("request_", "what"),
    [
        (Request(extras=frozenset({"docs", "cli"})), "extra cli, docs"),
        (Request(groups=frozenset({"dev"})), "dependency group dev"),
    ],
)
def test_extras_and_groups_are_refused(tmp_path: Path, target: Target, request_: Request, what: str) -> None:
    lock = _read(tmp_path, f"pkg==1.0 --hash=sha256:{H1}\n")
    with pytest.raises(SelectionError) as info:
        lock.select(target, request_)
    assert info.value.reason == (
        f"the lock has no {what} (requirements files have no extras or groups): leave extras and dependency_groups "
        "empty in this environment, or generate one file for each combination and set lock_file to it"
    )
    with command_line_names(), pytest.raises(SelectionError) as info:
        lock.select(target, request_)
    assert info.value.reason.endswith(
        ": leave out --extra and --group, or generate one file for each combination and set --lock to it"
    )
    assert _names(lock.select(target, Request(default_groups=False))) == ["pkg"]


@pytest.mark.parametrize(
    "request_",
    [
        Request(packages=frozenset({"lib"})),
        Request(all_packages=True),
        Request(all_extras=True),
        Request(all_groups=True),
    ],
    ids=["package", "all-packages", "all-extras", "all-groups"],
)
def test_every_extra_group_or_member_is_refused_as_a_requirements_file_has_none(
    tmp_path: Path, target: Target, request_: Request
) -> None:
    # --all-extras selecting nothing would install the file as if no flag were given: one file per selection instead
    lock = _read(tmp_path, f"pkg==1.0 --hash=sha256:{H1}\n")
    with pytest.raises(SelectionError) as info:
        lock.select(target, request_)
    assert info.value.reason == (
        "a requirements file has no extras, dependency groups or workspace members to select; generate one file for "
        "each selection and set lock_file to it"
    )


def test_a_marker_that_cannot_be_evaluated(tmp_path: Path, target: Target) -> None:
    lock = _read(tmp_path, f"ok==1.0 --hash=sha256:{H1}\npkg==1.0 ; python_version ~= 'x' --hash=sha256:{H1}\n")
    with pytest.raises(LockFileError) as info:
        lock.select(target, Request())
    assert info.value.context == "line 2"
    assert info.value.reason.startswith("the marker 'python_version ~= \"x\"' cannot be evaluated (Undefined")
    assert info.value.reason.endswith("); fix the marker")


# --- real files, checked against what uv selects -----------------------------------------------------------------


REAL = {
    "pypi__warehouse__docs-user": "pypi__warehouse__docs-user.txt",
    "pip-compile-markers": "pip-compile-markers.txt",
    "uv-export": "uv-export/requirements.txt",
}


def test_every_real_file_is_covered() -> None:
    assert sorted(p.stem for p in EXPECTED.glob("*.json")) == sorted(REAL)
    assert sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*.txt")) == sorted(REAL.values())
    originals = Path("/work/shared/lockfiles")
    if originals.is_dir():  # the copies are unchanged
        for name in ("pypi__warehouse__docs-user.txt", "pypi__warehouse__docs-user.in"):
            assert (DATA / name).read_bytes() == (originals / name).read_bytes()


@pytest.mark.parametrize("minor", MINORS)
@pytest.mark.parametrize("case", sorted(REAL))
def test_real_file_matches_uv(targets: dict[str, Target], case: str, minor: str) -> None:
    expected = json.loads((EXPECTED / f"{case}.json").read_text(encoding="utf-8"))
    assert expected["lockfile"] == REAL[case]
    picks = read_lock(DATA / REAL[case], "requirements").select(targets[minor], Request())
    assert {str(p.name): None if p.version is None else str(p.version) for p in picks} == expected["pythons"][minor]
    assert len(picks) == len(expected["pythons"][minor])


def test_real_file_details(target: Target) -> None:
    lock = read_requirements(DATA / "uv-export" / "requirements.txt")
    by_name = {str(p.name): p for p in lock.select(target, Request())}
    assert by_name["demo-app"].directory == DirectorySource(path=(DATA / "uv-export").resolve(), editable=True)
    assert by_name["helper"].directory == DirectorySource(path=(DATA / "uv-export/libs/helper").resolve())
    six = by_name["six"].artifact
    assert six is not None
    assert six.url is not None
    assert six.url.endswith("/six-1.17.0-py2.py3-none-any.whl")
    assert six.strongest_hash == ("sha256", "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274")
    click = by_name["click"]
    assert (click.kind, click.artifact, click.index) == ("wheel", None, None)
    assert click.lookup is not None
    assert len(click.lookup.hashes["sha256"]) == 2

    warehouse = read_requirements(DATA / "pypi__warehouse__docs-user.txt")
    picks = warehouse.select(target, Request())
    assert {p.kind for p in picks} == {"wheel"}
    assert all(p.artifact is None and p.version is not None for p in picks)
    charset = next(p for p in picks if p.name == "charset-normalizer")
    assert charset.context == "line 23"
    assert charset.lookup is not None
    assert len(charset.lookup.hashes["sha256"]) > 100  # one per wheel on the index


# --- robustness: mutated real files raise only our errors --------------------------------------------------------


@pytest.fixture(scope="module")
def playground() -> Iterator[Path]:
    """A copy of the real files (their relative paths still resolve) to write mutated files into."""
    with tempfile.TemporaryDirectory(prefix="venvsync-requirements-") as name:
        root = Path(name) / "requirements"
        shutil.copytree(DATA, root)
        yield root


SOURCES = [REAL["pip-compile-markers"], REAL["uv-export"], "pypi__warehouse__docs-user.txt", "pip-compile-markers.in"]
FRAGMENTS = st.sampled_from([
    "-e ", "-e .", "--hash=sha256:", f"--hash=sha256:{H1}", "--index-url", "-i", "-r x.txt", "\\", "#", " # c", "@",
    " @ ", ";", " ; ", "python_version < '3.11'", "extra == 'x'", "python_version ~= 'x'", "==", "===", ">=1", "[x]",
    "git+https://h/r@", COMMIT, "#egg=", "file:", "file:///", "https://h/p-1.0-py3-none-any.whl", ".tar.gz", "./",
    "/", "\x00", "\t", "'", '"', "\n", "\r", "\ufeff", "${VAR}", "==1.0", "pkg", "-", "--",
])  # fmt: skip
TEXT = st.one_of(FRAGMENTS, st.text(max_size=12))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = (DATA / draw(st.sampled_from(SOURCES))).read_text(encoding="utf-8").splitlines()
    lines = lines[: draw(st.integers(8, 60))]  # keep it quick: the head of the file holds every kind of line
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines)))
        operation = draw(st.sampled_from(["insert", "delete", "replace", "alter", "duplicate"]))
        if operation == "insert" or not lines or at == len(lines):
            lines.insert(at, "".join(draw(st.lists(TEXT, max_size=4))))
        elif operation == "delete":
            del lines[at]
        elif operation == "replace":
            lines[at] = "".join(draw(st.lists(TEXT, max_size=4)))
        elif operation == "alter":
            cut = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:cut] + draw(TEXT) + lines[at][cut + draw(st.integers(0, 3)) :]
        else:
            lines.insert(at, lines[at])
    return "\n".join(lines)


@settings(max_examples=1000, deadline=None)
@given(
    text=mutated(),
    minor=st.sampled_from(MINORS),
    request_=st.sampled_from([Request(), Request(extras=frozenset({"x"}))]),
)
def test_mutated_files_raise_only_our_errors(
    playground: Path, targets: dict[str, Target], text: str, minor: str, request_: Request
) -> None:
    path = playground / "uv-export" / "mutated.txt"  # beside pyproject.toml, so "-e ." names a project
    path.write_text(text, encoding="utf-8")
    outcome = _outcome(path, targets[minor], request_)
    if isinstance(outcome, list):
        names = _names(outcome)
        assert len(set(names)) == len(names)
        assert {p.kind for p in outcome} <= ALLOWED_KINDS
        assert all(p.artifact is None or p.artifact.strongest_hash is not None for p in outcome)
    else:
        assert outcome.path == path
        assert str(outcome).startswith(f"{path}")


def _outcome(path: Path, target: Target, request: Request) -> list[Pick] | LockFileError | SelectionError:
    """The picks, or the error a user would see; any other exception, ours or not, fails the test."""
    try:
        return read_requirements(path).select(target, request)
    except (LockFileError, SelectionError) as exc:
        return exc
