"""Unpacking a wheel into the cache verifies it whole; installing links its files and writes a correct RECORD."""

from __future__ import annotations

import base64
import csv
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import tracemalloc
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from _support.disks import NO_SPACE
from _support.venvs import new_venv
from _support.wheels import make_wheel, sha256_file
from tox_venvsync import _unpacked
from tox_venvsync._apply import WheelInstaller
from tox_venvsync._cache import Cache
from tox_venvsync._errors import InstallError
from tox_venvsync._installed import scan
from tox_venvsync._link import LinkInstaller
from tox_venvsync._lock import Artifact, Pick
from tox_venvsync._lock._model import IndexPin
from tox_venvsync._plan import Wanted
from tox_venvsync._target import Target, TargetMemo
from tox_venvsync._unpacked import SPLIT_AT, entry_scripts, unpacked
from tox_venvsync._values import replace
from tox_venvsync._verify import check_records

if TYPE_CHECKING:
    from collections.abc import Callable


def wanted_for(wheel: Path, name: str) -> Wanted:
    digest = sha256_file(wheel)
    artifact = Artifact(filename=wheel.name, url=None, path=wheel, size=None, hashes={"sha256": digest})
    return Wanted(pick=Pick(name=canonicalize_name(name), version=Version("1.0"), kind="wheel", artifact=artifact))


@pytest.fixture
def venv(tmp_path: Path, python312: Path) -> tuple[Path, Target]:
    path = tmp_path / "venv"
    new_venv(path, python312)
    return path, TargetMemo(path, path / "bin" / "python").load()


def test_unpack_once_then_reuse(tmp_path: Path, wheelhouse: Path) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0", modules={"pkg/__init__.py": "X = 1\n"})
    cache = Cache(tmp_path / "cache")
    digest = sha256_file(wheel)
    first = unpacked(cache, wheel, "sha256", digest, "pkg")
    assert (first.root / "pkg" / "__init__.py").read_text() == "X = 1\n"
    assert first.dist_info == "pkg-1.0.dist-info"
    wheel.unlink()  # the second call must not need the wheel any more
    again = unpacked(cache, wheel, "sha256", digest, "pkg")
    assert again.entries == first.entries
    assert not list((tmp_path / "cache" / "unpacked").rglob(".tmp-*"))


def test_a_full_cache_is_no_unreadable_wheel(tmp_path: Path, wheelhouse: Path) -> None:
    # found by QA on a full tmpfs: "cannot install pkg from pkg-1.0-py3-none-any.whl: it is not a readable wheel
    # ([Errno 28] No space left on device)" blamed the wheel; the disk's error is raised, naming the file
    wheel = make_wheel(wheelhouse, "pkg", "1.0", modules={"pkg/__init__.py": "X = 1\n"})
    cache = Cache(tmp_path / "cache")
    digest = sha256_file(wheel)
    with mock.patch("os.write", side_effect=NO_SPACE), pytest.raises(OSError, match="No space left") as info:
        unpacked(cache, wheel, "sha256", digest, "pkg")
    assert info.value.errno == errno.ENOSPC
    assert Path(info.value.filename).is_relative_to(cache.tmp_dir())  # a file of the tree being unpacked
    assert not list(cache.tmp_dir().iterdir())  # nothing of it kept
    assert not (cache.unpacked("sha256", digest)).exists()
    assert wheel.exists()  # the verified wheel is not taken for a damaged one
    assert unpacked(cache, wheel, "sha256", digest, "pkg").dist_info == "pkg-1.0.dist-info"


def test_a_cached_wheel_damaged_since_it_was_verified_is_deleted_and_said_so(tmp_path: Path, wheelhouse: Path) -> None:
    # one flipped byte inside a member, the size unchanged: every sync failed with "not a readable wheel" for good,
    # as the cache's copy was never fetched again; found by QA
    made = make_wheel(wheelhouse, "pkg", "1.0", modules={"pkg/__init__.py": "X = 1\n" * 200})
    cache = Cache(tmp_path / "cache")
    digest = sha256_file(made)
    wheel = cache.artifact("sha256", digest, made.name)
    wheel.parent.mkdir(parents=True)
    data = bytearray(made.read_bytes())
    data[len(data) // 3] ^= 0xFF
    wheel.write_bytes(bytes(data))
    with pytest.raises(InstallError) as info:
        unpacked(cache, wheel, "sha256", digest, "pkg")
    assert str(info.value) == (
        f"cannot install pkg from {made.name}: the cache's copy of it ({wheel}) was damaged: its sha256 changed; it "
        "is deleted, run again"
    )
    assert not wheel.exists()
    # a wheel the lock names by path is the user's: never deleted, whatever it holds
    outside = tmp_path / made.name
    outside.write_bytes(bytes(data))
    with pytest.raises(InstallError, match="it is not a readable wheel"):
        unpacked(cache, outside, "sha256", digest, "pkg")
    assert outside.exists()


def test_a_wheel_split_between_threads_unpacks_as_on_one(tmp_path: Path, wheelhouse: Path) -> None:
    modules = {f"pkg/sub{i % 3}/m{i}.py": f"X = {i}\n" * i for i in range(SPLIT_AT + 9)}
    wheel = make_wheel(wheelhouse, "pkg", "1.0", modules=modules)
    one = unpacked(Cache(tmp_path / "one"), wheel, "sha256", sha256_file(wheel), "pkg")
    split = unpacked(Cache(tmp_path / "split"), wheel, "sha256", sha256_file(wheel), "pkg", threads=3)
    assert split.entries == one.entries  # the same entries in the archive's order
    assert len(split.entries) > SPLIT_AT
    for entry in split.entries:
        assert (split.root / entry.path).read_bytes() == (one.root / entry.path).read_bytes()


def _manifest(tree: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((tree / ".venvsync-wheel.json").read_text(encoding="utf-8"))
    return data


def test_a_tree_of_the_first_manifest_format_is_used_as_it_is(tmp_path: Path, wheelhouse: Path) -> None:
    wheel = make_wheel(
        wheelhouse, "pkg", "1.0", modules={"pkg/__init__.py": "X = 1\n"}, data={"scripts/tool": b"#!python\n"}
    )
    cache = Cache(tmp_path / "cache")
    first = unpacked(cache, wheel, "sha256", sha256_file(wheel), "pkg")
    data = _manifest(first.root)
    assert data["format"] == 2
    assert ["pkg/__init__.py", first.entries[0].hash, 6, False] in data["entries"]  # type: ignore[operator]
    fields = ("path", "hash", "size", "executable")
    entries = [dict(zip(fields, entry, strict=True)) for entry in data["entries"]]  # type: ignore[attr-defined]
    (first.root / ".venvsync-wheel.json").write_text(json.dumps({**data, "format": 1, "entries": entries}))
    inode = (first.root / "pkg" / "__init__.py").stat().st_ino
    wheel.unlink()  # read, not unpacked again
    again = unpacked(cache, wheel, "sha256", first.root.name, "pkg")
    assert again == first
    assert (again.root / "pkg" / "__init__.py").stat().st_ino == inode


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda m: m.write_text('{"format": 99}'), id="a-later-format"),
        pytest.param(lambda m: m.write_text('{"format": 2, "entr'), id="cut-short"),
        pytest.param(lambda m: m.unlink(), id="deleted"),
    ],
)
def test_a_tree_whose_manifest_does_not_load_is_unpacked_again(
    tmp_path: Path, wheelhouse: Path, damage: Callable[[Path], None]
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0", modules={"pkg/__init__.py": "X = 1\n"})
    cache = Cache(tmp_path / "cache")
    first = unpacked(cache, wheel, "sha256", sha256_file(wheel), "pkg")
    damage(first.root / ".venvsync-wheel.json")
    (first.root / "pkg" / "__init__.py").write_text("edited in the cache\n")
    again = unpacked(cache, wheel, "sha256", sha256_file(wheel), "pkg")
    assert again == first
    assert (again.root / "pkg" / "__init__.py").read_text() == "X = 1\n"  # the whole tree is the wheel's again
    assert _manifest(again.root)["format"] == 2
    assert not [p.name for p in cache.tmp_dir().iterdir()]  # the old tree and the scratch are gone


def test_a_broken_tree_another_process_replaced_meanwhile_is_kept(
    tmp_path: Path, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes find the same broken tree: the second must not move aside the tree the first put there.

    The first may be linking from it already; the replacement is checked again under a lock.
    """
    wheel = make_wheel(wheelhouse, "pkg", "1.0", modules={"pkg/__init__.py": "X = 1\n"})
    digest = sha256_file(wheel)
    cache = Cache(tmp_path / "cache")
    final = unpacked(cache, wheel, "sha256", digest, "pkg").root
    (final / ".venvsync-wheel.json").unlink()  # broken: its manifest lost
    theirs = unpacked(Cache(tmp_path / "other"), wheel, "sha256", digest, "pkg").root  # the other process's tree
    inode = (theirs / "pkg" / "__init__.py").stat().st_ino
    real_load = _unpacked._load
    calls = []

    def load(root: Path) -> object:
        calls.append(root)
        found = real_load(root)
        if len(calls) == 2:  # ours found it broken after our rename failed; then the other
            # process, which found it broken too, replaces it before we do
            final.rename(tmp_path / "broken")
            theirs.rename(final)
        return found

    monkeypatch.setattr(_unpacked, "_load", load)
    result = unpacked(cache, wheel, "sha256", digest, "pkg")
    assert result.root == final
    assert (final / "pkg" / "__init__.py").stat().st_ino == inode  # the other process's tree, left in place
    assert not [p.name for p in cache.tmp_dir().iterdir()]  # our scratch tree is gone


def test_a_tree_lacking_a_file_is_unpacked_again_unless_another_process_made_it_whole(
    tmp_path: Path, wheelhouse: Path
) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0", modules={"pkg/__init__.py": "X = 1\n", "pkg/sub/m.py": "Y = 2\n"})
    digest = sha256_file(wheel)
    cache = Cache(tmp_path / "cache")
    first = unpacked(cache, wheel, "sha256", digest, "pkg")
    inode = (first.root / "pkg" / "__init__.py").stat().st_ino
    # found damaged by one process, made whole by another before this one got to it: that tree stays
    assert unpacked(cache, wheel, "sha256", digest, "pkg", damaged=True) == first
    assert (first.root / "pkg" / "__init__.py").stat().st_ino == inode
    (first.root / "pkg" / "sub" / "m.py").unlink()
    assert unpacked(cache, wheel, "sha256", digest, "pkg") == first  # the manifest loads: not checked file by file
    again = unpacked(cache, wheel, "sha256", digest, "pkg", damaged=True)
    assert again == first
    assert (again.root / "pkg" / "sub" / "m.py").read_text() == "Y = 2\n"
    assert (again.root / "pkg" / "__init__.py").stat().st_ino != inode  # a tree of its own, from the wheel
    assert not [p.name for p in cache.tmp_dir().iterdir()]  # the damaged tree and the scratch are gone


def test_a_file_removed_from_the_tree_while_it_is_placed_is_placed_from_a_tree_unpacked_again(
    tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target], monkeypatch: pytest.MonkeyPatch
) -> None:
    # something deletes part of the tree while this run links from it: the install unpacks it again and places
    # the whole wheel from the new tree, over what it placed from the old one, so the venv holds no half of it
    modules = {"pkg/__init__.py": "X = 1\n", "pkg/sub/m.py": "Y = 2\n", "pkg/z.py": "Z = 3\n"}
    wheel = make_wheel(wheelhouse, "pkg", "1.0", modules=modules)
    path, target = venv
    cache = Cache(tmp_path / "cache")
    tree = unpacked(cache, wheel, "sha256", sha256_file(wheel), "pkg")
    installer = LinkInstaller(target, cache)
    assert installer.ready(wheel, wanted_for(wheel, "pkg"))
    real_link = os.link
    removed: list[str] = []

    def link(source: str, destination: str) -> None:
        real_link(source, destination)
        if not removed:  # once the first file is placed, the package's directory goes
            removed.append(destination)
            shutil.rmtree(tree.root / "pkg")

    monkeypatch.setattr(os, "link", link)
    installer.install(wheel, wanted_for(wheel, "pkg"))
    site = Path(target.scheme["purelib"])
    for module in modules:
        assert (site / module).stat().st_ino == (tree.root / module).stat().st_ino  # all from the new tree
    assert not check_records(scan([site]), path)
    assert removed == [str(site / "pkg" / "__init__.py")]


def test_a_tree_removed_with_its_wheel_while_it_is_placed_fails_naming_the_cache_file(
    tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target]
) -> None:
    # the whole cache removed during the run: nothing to unpack again from; the sync's error says the cache changed
    # under it (see test_cli_sync), and the next run fetches the wheel and clears what this one placed
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    _, target = venv
    cache = Cache(tmp_path / "cache")
    tree = unpacked(cache, wheel, "sha256", sha256_file(wheel), "pkg")
    installer = LinkInstaller(target, cache)
    assert installer.ready(wheel, wanted_for(wheel, "pkg"))
    wanted = wanted_for(wheel, "pkg")
    wheel.unlink()
    shutil.rmtree(tree.root / "pkg")
    with pytest.raises(FileNotFoundError) as raised:
        installer.install(wheel, wanted)
    assert raised.value.filename == str(tree.root / "pkg" / "__init__.py")


def test_a_tree_that_lost_the_metadata_a_requirements_pin_reads_is_unpacked_again(
    tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target]
) -> None:
    # a requirements pin's Requires-Python is read from the tree's METADATA before anything is placed
    wheel = make_wheel(wheelhouse, "pkg", "1.0", requires_python=">=3.8")
    digest = sha256_file(wheel)
    cache = Cache(tmp_path / "cache")
    tree = unpacked(cache, wheel, "sha256", digest, "pkg")
    (tree.root / tree.dist_info / "METADATA").unlink()
    wanted = wanted_for(wheel, "pkg")
    wanted = replace(wanted, pick=replace(wanted.pick, lookup=IndexPin(hashes={"sha256": frozenset({digest})})))
    _, target = venv
    installer = LinkInstaller(target, cache)
    assert installer.ready(wheel, wanted)
    assert "Requires-Python: >=3.8" in (tree.root / tree.dist_info / "METADATA").read_text()
    installer.install(wheel, wanted)
    assert (Path(target.scheme["purelib"]) / tree.dist_info / "METADATA").is_file()


def test_a_file_is_checked_by_its_record_hash_not_its_crc(tmp_path: Path, wheelhouse: Path) -> None:
    wheel = make_wheel(wheelhouse, "pkg", "1.0", modules={"pkg/__init__.py": "X = 1\n"})
    data = bytearray(wheel.read_bytes())
    directory = data.find(b"PK\x01\x02")  # the first member's entry in the central directory: pkg/__init__.py
    assert data[directory + 46 : directory + 46 + 15] == b"pkg/__init__.py"
    struct.pack_into("<L", data, directory + 16, 0)  # its CRC-32 made wrong; the content still matches RECORD
    wheel.write_bytes(data)
    tree = unpacked(Cache(tmp_path / "cache"), wheel, "sha256", sha256_file(wheel), "pkg")
    assert (tree.root / "pkg" / "__init__.py").read_text() == "X = 1\n"


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("record", ["its hash", "another hash"])
def test_a_large_member_is_unpacked_in_pieces_not_held_in_memory(tmp_path: Path, wheelhouse: Path, record: str) -> None:
    # a zip bomb: a wheel of 64 KiB declaring 64 MiB of zeros took twice that in memory, before its hash was checked
    big = bytes(64 << 20)
    wheel = make_wheel(wheelhouse, "pkg", "1.0", extra_entries={"pkg/zeros.bin": big})
    if record == "another hash":
        wheel = _with_record(wheel, lambda text: re.sub(r"(pkg/zeros\.bin,sha256=)\w", r"\1_", text))
    del big
    tracemalloc.start()
    try:
        if record == "its hash":
            tree = unpacked(Cache(tmp_path / "cache"), wheel, "sha256", sha256_file(wheel), "pkg")
        else:
            with pytest.raises(
                InstallError, match=re.escape("its RECORD does not match the content of 'pkg/zeros.bin'")
            ):
                unpacked(Cache(tmp_path / "cache"), wheel, "sha256", sha256_file(wheel), "pkg")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20
    if record == "its hash":
        assert (tree.root / "pkg" / "zeros.bin").stat().st_size == 64 << 20
        assert (
            hashlib.sha256((tree.root / "pkg" / "zeros.bin").read_bytes()).digest()
            == hashlib.sha256(bytes(64 << 20)).digest()
        )
    else:
        assert list((tmp_path / "cache" / "unpacked").rglob("*.bin")) == []


def test_a_wheel_of_another_users_cache_says_the_cache_is_one_users(
    tmp_path: Path, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a cache shared by two users: the first one's files are 0600; "it is not a readable wheel" blamed the wheel
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    digest, opened = sha256_file(wheel), Path.open

    def refused(path: Path, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401  # Path.open's own
        if path == wheel:
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refused)
    with pytest.raises(InstallError) as info:
        unpacked(Cache(tmp_path / "cache"), wheel, "sha256", digest, "pkg")
    assert str(info.value) == (
        f"cannot install pkg from {wheel.name}: this user may not read {wheel} (Permission denied); a cache serves "
        "one user: set TOX_VENVSYNC_CACHE_DIR to a directory of your own"
    )


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("member", ["pkg/__init__.py", "pkg-1.0.dist-info/RECORD"])
def test_an_encrypted_member_is_an_unreadable_wheel_not_a_traceback(
    tmp_path: Path, wheelhouse: Path, member: str
) -> None:
    # zipfile raises RuntimeError for it (and NotImplementedError for a method it lacks), which escaped
    wheel = make_wheel(wheelhouse, "pkg", "1.0")
    data = bytearray(wheel.read_bytes())
    local = data.find(member.encode()) - 30  # the member's local header: its name comes first
    directory = data.find(member.encode(), local + 31) - 46  # the member's entry in the central directory
    for at in (local + 6, directory + 8):
        struct.pack_into("<H", data, at, struct.unpack_from("<H", data, at)[0] | 1)
    wheel.write_bytes(data)
    with pytest.raises(InstallError) as info:
        unpacked(Cache(tmp_path / "cache"), wheel, "sha256", sha256_file(wheel), "pkg")
    assert str(info.value) == (
        f"cannot install pkg from {wheel.name}: it is not a readable wheel (File {member!r} is encrypted, which "
        "cannot be read (RuntimeError))"
    )


def _two_names_for_one_member(directory: Path) -> Path:
    wheel = make_wheel(directory, "evil", "1.0", extra_entries={"evil/real.py": b"X = 1\n"})
    data = wheel.read_bytes()
    wheel.write_bytes(data.replace(b"evil/real.py", b"evil/fake.py", 1))  # the first is the local header's
    return wheel


HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "two names for one member": (
        _two_names_for_one_member,
        "it is not a readable wheel (File name in directory 'evil/real.py' and header 'evil/fake.py' differ.)",
    ),
    "dot-dot": (
        lambda d: make_wheel(d, "evil", "1.0", extra_entries={"../escape.py": b"x"}),
        "the entry '../escape.py' would be written outside the venv",
    ),
    "absolute": (
        lambda d: make_wheel(d, "evil", "1.0", extra_entries={"/abs.py": b"x"}),
        "the entry '/abs.py' would be written outside the venv",
    ),
    "dot part": (  # its content replaced evil/__init__.py's on disk, which RECORD lists with another hash
        lambda d: make_wheel(d, "evil", "1.0", extra_entries={"evil/./__init__.py": b"X = 'other'\n"}),
        "the entry 'evil/./__init__.py' has a '.' part: it names another entry's file",
    ),
    "bad data scheme": (
        lambda d: make_wheel(d, "evil", "1.0", extra_entries={"evil-1.0.data/etc/passwd": b"x"}),
        "the entry 'evil-1.0.data/etc/passwd' is not in a known .data scheme",
    ),
    "file named as a data scheme": (  # it would be placed as the scheme's directory itself: site-packages
        lambda d: make_wheel(d, "evil", "1.0", extra_entries={"evil-1.0.data/purelib": b"x"}),
        "the entry 'evil-1.0.data/purelib' is not in a known .data scheme",
    ),
    "record disagrees": (
        lambda d: make_wheel(
            d, "evil", "1.0", record=b"evil/__init__.py,sha256=AAAA,3\nevil-1.0.dist-info/METADATA,sha256=AAAA,1\n"
        ),
        "its RECORD does not match the content of",
    ),
    "member record does not list": (  # a file no RECORD row vouches for: nothing to check its bytes against
        lambda d: _with_record(make_wheel(d, "evil", "1.0"), lambda text: text, {"evil/hidden.py": b"x"}),
        "its RECORD does not list 'evil/hidden.py'",
    ),
    "record size differs": (  # the right bytes under another size: the size a venv's RECORD keeps would lie
        lambda d: _with_record(
            make_wheel(d, "evil", "1.0"),
            lambda text: re.sub(r"^(evil/__init__\.py,[^,]*,)\d+$", r"\g<1>999", text, flags=re.MULTILINE),
        ),
        "its RECORD gives another size for 'evil/__init__.py'",
    ),
    "record hash of no fixed size": (  # shake's digest needs a length, which a RECORD does not give
        lambda d: make_wheel(d, "evil", "1.0", record=b"evil/__init__.py,shake_128=AAAA,3\n"),
        "its RECORD does not match the content of 'evil/__init__.py'",
    ),
    "entry point without attribute": (
        lambda d: make_wheel(
            d, "evil", "1.0", extra_entries={"evil-1.0.dist-info/entry_points.txt": b"[console_scripts]\ntool = evil\n"}
        ),
        "its entry_points.txt has tool = 'evil', not <module>:<attribute>",
    ),
    "entry points that do not parse": (
        lambda d: make_wheel(
            d, "evil", "1.0", extra_entries={"evil-1.0.dist-info/entry_points.txt": b"[console_scripts]\ntool\n"}
        ),
        "its entry_points.txt does not parse",
    ),
    "reserved name": (
        lambda d: make_wheel(d, "evil", "1.0", extra_entries={".venvsync-wheel.json": b'{"format": 1}'}),
        "the entry '.venvsync-wheel.json' has a name tox-venvsync keeps for itself",
    ),
    "other dist-info": (
        lambda d: make_wheel(d, "notevil", "1.0"),
        "its metadata directory notevil-1.0.dist-info is not for evil",
    ),
}


def test_a_record_size_of_other_digits_than_ascii_is_refused_not_a_traceback(
    tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target]
) -> None:
    # "²" is a digit to str.isdigit and no number to int(): a wheel's RECORD (data from the internet) ended the
    # sync in a ValueError traceback (found by QA)
    wheel = make_wheel(wheelhouse, "evil", "1.0", record="evil/__init__.py,sha256=AAAA,\u00b2\n".encode())
    installer = LinkInstaller(venv[1], Cache(tmp_path / "cache"))
    with pytest.raises(InstallError, match=r"its RECORD row for 'evil/__init__\.py' is not a hash and a size"):
        installer.check(wheel, wanted_for(wheel, "evil"))


def _checked_and_installed(tmp_path: Path, target: Target, wheel: Path, name: str) -> Path:
    """Check ``wheel`` and install it into ``target``'s venv as a sync does (cache in ``tmp_path``); its purelib."""
    installer = LinkInstaller(target, Cache(tmp_path / "cache"))
    installer.check(wheel, wanted_for(wheel, name))
    installer.install(wheel, wanted_for(wheel, name))
    return Path(target.scheme["purelib"])


@pytest.mark.reliability("hostile")
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_wheel_is_refused_before_any_file_is_written(
    case: str, tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target]
) -> None:
    make, message = HOSTILE[case]
    wheel = make(wheelhouse)
    path, target = venv
    before = sorted(p.relative_to(path) for p in path.rglob("*"))
    installer = LinkInstaller(target, Cache(tmp_path / "cache"))
    with pytest.raises(InstallError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        installer.check(wheel, wanted_for(wheel, "evil"))
    assert str(info.value).startswith(f"cannot install evil from {wheel.name}: ")  # the package, then its file
    assert sorted(p.relative_to(path) for p in path.rglob("*")) == before
    assert not (tmp_path / "cache" / "unpacked").exists() or not any(
        p.name != ".tmp" for p in (tmp_path / "cache" / "unpacked").rglob("*") if p.is_file()
    )
    assert not (tmp_path.parent / "escape.py").exists()


@pytest.mark.parametrize("link", [True, False])
def test_linked_install_runs_and_its_record_verifies(
    link: bool,  # noqa: FBT001  # a parametrized fixture value
    tmp_path: Path,
    wheelhouse: Path,
    venv: tuple[Path, Target],
) -> None:
    wheel = make_wheel(
        wheelhouse,
        "tool",
        "1.0",
        modules={"tool/__init__.py": "def main():\n    print('tool ran')\n"},
        console_scripts={"tool-cli": "tool:main"},
        data={"scripts/raw-tool": b"#!python\nprint('raw tool ran')\n", "data/share/tool/readme.txt": b"hello\n"},
    )
    path, target = venv
    cache = Cache(tmp_path / "cache")
    installer = LinkInstaller(target, cache, link=link)
    wanted = wanted_for(wheel, "tool")
    installer.check(wheel, wanted)
    installer.install(wheel, wanted)
    site = Path(target.scheme["purelib"])
    source = next((cache.root / "unpacked").rglob("tool/__init__.py"))
    assert ((site / "tool" / "__init__.py").stat().st_ino == source.stat().st_ino) is link
    assert (
        subprocess.run([str(path / "bin" / "tool-cli")], capture_output=True, text=True, check=True).stdout
        == "tool ran\n"
    )
    assert subprocess.run([str(path / "bin" / "raw-tool")], capture_output=True, text=True, check=True).stdout == (
        "raw tool ran\n"
    )
    assert (path / "share" / "tool" / "readme.txt").read_text() == "hello\n"
    record = (site / "tool-1.0.dist-info" / "RECORD").read_text()
    rows = {row[0] for row in csv.reader(record.splitlines())}
    assert {
        "tool/__init__.py",
        "../../../bin/tool-cli",
        "../../../bin/raw-tool",
        "tool-1.0.dist-info/INSTALLER",
    } <= rows
    assert json.loads((site / "tool-1.0.dist-info" / "venvsync.json").read_text())["content"] is None
    assert not check_records(scan([site]), path)
    assert os.access(path / "bin" / "tool-cli", os.X_OK)


def _with_mode(wheel: Path, member: str, mode: int) -> None:
    """Rewrite ``wheel`` with the file mode (and type) of ``member`` set to ``mode``."""
    with zipfile.ZipFile(wheel) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(wheel, "w") as target_zip:
        for info, data in entries:
            if info.filename == member:
                info.external_attr = mode << 16
            target_zip.writestr(info, data)


@pytest.mark.reliability("hostile")
def test_a_symlink_entry_becomes_a_plain_file_never_a_link(
    tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target]
) -> None:
    wheel = make_wheel(wheelhouse, "linky", "1.0", extra_entries={"linky/passwd": b"/etc/passwd"})
    _with_mode(wheel, "linky/passwd", stat.S_IFLNK | 0o777)  # the entry marked as a symbolic link
    _, target = venv
    installed = _checked_and_installed(tmp_path, target, wheel, "linky") / "linky" / "passwd"
    assert not installed.is_symlink()
    assert installed.read_bytes() == b"/etc/passwd"


def _record_of(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))).decode()


def _with_record(wheel: Path, edit: Callable[[str], str], extra: dict[str, bytes] | None = None) -> Path:
    """``wheel`` rewritten with its RECORD edited (and ``extra`` members added, unlisted)."""
    with zipfile.ZipFile(wheel) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(wheel, "w") as target_zip:
        for info, data in entries:
            target_zip.writestr(info, edit(data.decode()).encode() if info.filename.endswith("/RECORD") else data)
        for name, data in (extra or {}).items():
            target_zip.writestr(name, data)
    return wheel


@pytest.mark.parametrize(
    "case",
    ["empty size", "signature files", "a row for a file the wheel does not hold"],
)
def test_records_the_spec_allows_are_installed_as_pip_and_uv_install_them(
    case: str, tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target]
) -> None:
    wheel = make_wheel(wheelhouse, "lenient", "1.0", modules={"lenient/__init__.py": "OK = 1\n"})
    if case == "empty size":  # the size column "is either empty or the file's size"
        sized = re.compile(r"^(lenient/__init__\.py,sha256=[^,]+),\d+$", re.MULTILINE)
        _with_record(wheel, lambda text: sized.sub(r"\1,", text))
        assert re.search(r"^lenient/__init__\.py,sha256=[^,]+,$", _record_of(wheel), re.MULTILINE)
    elif case == "signature files":  # RECORD.jws and RECORD.p7s are never listed in RECORD (the wheel spec)
        signatures = {"lenient-1.0.dist-info/RECORD.jws": b"{}", "lenient-1.0.dist-info/RECORD.p7s": b"sig"}
        _with_record(wheel, lambda text: text, signatures)
    else:
        _with_record(wheel, lambda text: text + "lenient/__pycache__/__init__.cpython-312.pyc,,\n")
    path, target = venv
    site = _checked_and_installed(tmp_path, target, wheel, "lenient")
    assert (site / "lenient" / "__init__.py").read_text() == "OK = 1\n"
    assert not (site / "lenient-1.0.dist-info" / "RECORD.jws").exists()  # it signs a RECORD rewritten here
    assert not check_records(scan([site]), path)


def _hex_digests(text: str) -> str:
    """RECORD ``text`` with its sha256 digests in hex, as an old sphinx-theme-builder wrote them (furo 2022.9)."""

    def to_hex(match: re.Match[str]) -> str:
        return "sha256=" + base64.urlsafe_b64decode(match[1] + "=").hex()

    return re.sub(r"sha256=([A-Za-z0-9_-]{43})", to_hex, text)


def test_a_record_with_hex_digests_installs_as_pip_and_uv_install_it(
    tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target]
) -> None:
    wheel = make_wheel(wheelhouse, "hexrec", "1.0", modules={"hexrec/__init__.py": "OK = 1\n"})
    _with_record(wheel, _hex_digests)
    assert re.search(r"^hexrec/__init__\.py,sha256=[0-9a-f]{64},", _record_of(wheel), re.MULTILINE)
    path, target = venv
    site = _checked_and_installed(tmp_path, target, wheel, "hexrec")
    assert (site / "hexrec" / "__init__.py").read_text() == "OK = 1\n"
    # the installed RECORD has the digests in base64, as RECORD writes them, and verifies
    assert not re.search(r"sha256=[0-9a-f]{64}", (site / "hexrec-1.0.dist-info" / "RECORD").read_text())
    assert not check_records(scan([site]), path)


def test_a_hex_digest_that_is_not_the_files_is_refused(
    tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target]
) -> None:
    wheel = make_wheel(wheelhouse, "hexbad", "1.0", modules={"hexbad/__init__.py": "OK = 1\n"})
    row = re.compile(r"^(hexbad/__init__\.py,sha256=)[^,]+", re.MULTILINE)
    _with_record(wheel, lambda text: row.sub(r"\g<1>" + "ab" * 32, text))
    _, target = venv
    with pytest.raises(InstallError, match=r"its RECORD does not match the content of 'hexbad/__init__.py'"):
        LinkInstaller(target, Cache(tmp_path / "cache")).check(wheel, wanted_for(wheel, "hexbad"))


def test_verify_reads_a_record_with_hex_digests_that_pip_or_uv_installed(tmp_path: Path) -> None:
    site = tmp_path / "venv" / "lib" / "python3.12" / "site-packages"
    (site / "hexrec").mkdir(parents=True)
    (site / "hexrec-1.0.dist-info").mkdir()
    (site / "hexrec" / "__init__.py").write_text("OK = 1\n")
    (site / "hexrec" / "edited.py").write_text("EDITED = 1\n")
    digest = hashlib.sha256(b"OK = 1\n").hexdigest()
    (site / "hexrec-1.0.dist-info" / "RECORD").write_text(
        f"hexrec/__init__.py,sha256={digest},7\nhexrec/edited.py,sha256={digest},7\nhexrec-1.0.dist-info/RECORD,,\n"
    )
    drift = check_records(scan([site]), tmp_path / "venv")
    assert drift.modified == ["lib/python3.12/site-packages/hexrec/edited.py"]
    assert not drift.missing
    assert not drift.unreadable


def test_a_file_whose_record_row_has_no_hash_is_refused(
    tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target]
) -> None:
    wheel = make_wheel(wheelhouse, "nohash", "1.0")
    row = re.compile(r"^nohash/__init__\.py,[^\n]*$", re.MULTILINE)
    _with_record(wheel, lambda text: row.sub("nohash/__init__.py,,", text))
    _, target = venv
    with pytest.raises(InstallError, match=r"its RECORD has no hash for 'nohash/__init__.py'"):
        LinkInstaller(target, Cache(tmp_path / "cache")).check(wheel, wanted_for(wheel, "nohash"))


@pytest.mark.parametrize("installer_kind", ["linked", "pypa-installer"])
def test_a_wheel_whose_record_does_not_read_as_csv_is_refused_in_one_sentence(
    tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target], installer_kind: str
) -> None:
    # a quoted field past csv's size limit (131,072 characters): csv.Error escaped as a traceback
    wheel = make_wheel(wheelhouse, "badcsv", "1.0")
    _with_record(wheel, lambda text: text + '"' + "a" * 200_000 + '",,\n')
    _, target = venv
    installer = (
        LinkInstaller(target, Cache(tmp_path / "cache")) if installer_kind == "linked" else WheelInstaller(target)
    )
    with pytest.raises(InstallError, match=r"^cannot install badcsv from badcsv-1\.0-py3-none-any\.whl: its RECORD"):
        installer.check(wheel, wanted_for(wheel, "badcsv"))


def test_any_execute_bit_makes_a_file_executable_as_pip_uv_and_installer_make_it(
    tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target]
) -> None:
    members = {"modes/group.sh": b"#!/bin/sh\n", "modes/others.sh": b"#!/bin/sh\n", "modes/shared.txt": b"x"}
    wheel = make_wheel(wheelhouse, "modes", "1.0", extra_entries=members)
    _with_mode(wheel, "modes/group.sh", 0o100654)  # group may run it, its owner may not
    _with_mode(wheel, "modes/others.sh", 0o100601)  # only others may run it
    _with_mode(wheel, "modes/shared.txt", 0o100666)  # everyone may write it, no one may run it
    _, target = venv
    site = _checked_and_installed(tmp_path, target, wheel, "modes")
    assert stat.S_IMODE((site / "modes" / "group.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((site / "modes" / "others.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((site / "modes" / "shared.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((site / "modes" / "__init__.py").stat().st_mode) == 0o644


@pytest.mark.parametrize("old_tree", [False, True])
def test_a_tree_unpacked_under_a_umask_that_hides_reads_gives_venvs_readable_files(
    tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target], *, old_tree: bool
) -> None:
    # hard links share one mode: a cache filled under umask 077 must not give later venvs files only its owner
    # reads (an image's venv for another user); an old tree of such a cache is mended when it is next used
    wheel = make_wheel(wheelhouse, "private", "1.0", extra_entries={"private/run.sh": b"#!/bin/sh\n"})
    _with_mode(wheel, "private/run.sh", 0o100755)
    cache = Cache(tmp_path / "cache")
    digest = sha256_file(wheel)
    before = os.umask(0o077)
    try:
        tree = unpacked(cache, wheel, "sha256", digest, "private")
        if old_tree:  # as an earlier tox-venvsync left it: every file as the umask made it
            for path in tree.root.rglob("*"):
                path.chmod(0o700 if path.is_dir() else 0o600)
    finally:
        os.umask(before)
    _, target = venv
    installer = LinkInstaller(target, cache)
    installer.check(wheel, wanted_for(wheel, "private"))
    installer.install(wheel, wanted_for(wheel, "private"))
    site = Path(target.scheme["purelib"])
    assert stat.S_IMODE((site / "private" / "__init__.py").stat().st_mode) == 0o644
    assert stat.S_IMODE((site / "private-1.0.dist-info" / "METADATA").stat().st_mode) == 0o644
    assert stat.S_IMODE((site / "private" / "run.sh").stat().st_mode) == 0o755
    assert (site / "private" / "__init__.py").stat().st_ino == (tree.root / "private" / "__init__.py").stat().st_ino


def test_two_members_at_one_path_leave_the_last_in_place_and_in_record(
    tmp_path: Path, wheelhouse: Path, venv: tuple[Path, Target]
) -> None:
    # pkg/x.py and .data/purelib/pkg/x.py: the later member is the file (as pip and uv), RECORD lists it once
    wheel = make_wheel(
        wheelhouse,
        "dupdest",
        "1.0",
        modules={"dupdest/__init__.py": "", "dupdest/x.py": "WHERE = 'root'\n"},
        data={"purelib/dupdest/x.py": b"WHERE = 'purelib'\n"},
    )
    path, target = venv
    site = _checked_and_installed(tmp_path, target, wheel, "dupdest")
    assert (site / "dupdest" / "x.py").read_text() == "WHERE = 'purelib'\n"
    record = site / "dupdest-1.0.dist-info" / "RECORD"
    rows = [row[0] for row in csv.reader(record.read_text().splitlines())]
    assert rows.count("dupdest/x.py") == 1
    assert not check_records(scan([site]), path)
    # pip's RECORD lists both: the last row is the file's
    text = record.read_text()
    [last] = [line for line in text.splitlines() if line.startswith("dupdest/x.py,")]
    record.write_text(text.replace(last, "dupdest/x.py,sha256=" + "A" * 43 + ",5\n" + last))
    assert not check_records(scan([site]), path)


def test_data_schemes_are_installers() -> None:
    from installer.utils import SCHEME_NAMES  # noqa: PLC0415

    from tox_venvsync import _unpacked  # noqa: PLC0415

    assert frozenset(SCHEME_NAMES) == _unpacked._SCHEMES


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[console_scripts]\nTool = pkg.cli:main\nother=pkg:run [extra]\n[gui_scripts]\nwin = pkg.gui:App.start\n",
        "[pytest11]\nplugin = pkg.plugin\n[gui_scripts]\nfirst = a:b\n[console_scripts]\nsecond = c.d:e\n",
        "[DEFAULT]\nshared = pkg:shared\n[console_scripts]\nalone = b:c\n",
    ],
    ids=["none", "both-kinds", "file-order", "default-section"],
)
def test_scripts_are_read_as_installer_reads_them(text: str) -> None:
    from installer.utils import parse_entrypoints  # noqa: PLC0415

    expected = [list(script) for script in parse_entrypoints(text)]
    assert entry_scripts(text, Path("pkg-1.0-py3-none-any.whl"), "pkg") == expected
    assert expected or not text  # each case but the empty file has scripts to agree on
