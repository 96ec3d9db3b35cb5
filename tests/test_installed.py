"""Tests of reading the installed distributions from ``.dist-info`` directories."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from tox_venvsync._installed import OUR_METADATA, InstalledDist, dist_info_names, scan, source_id

if TYPE_CHECKING:
    import pytest


def _dist_info(site: Path, dirname: str, *, metadata: str | None = None) -> Path:
    path = site / dirname
    path.mkdir(parents=True)
    if metadata is not None:
        (path / "METADATA").write_text(metadata, encoding="utf-8")
    return path


def test_scan_reads_name_and_version_from_the_directory_name(tmp_path: Path) -> None:
    site = tmp_path / "site"
    a = _dist_info(site, "Foo_Bar-1.0.dist-info", metadata="Name: ignored\nVersion: 9\n")
    b = _dist_info(site, "zope.interface-6.0.post1.dist-info")
    assert scan([site]) == {
        "foo-bar": [InstalledDist(name=canonicalize_name("foo-bar"), version=Version("1.0"), dist_info=a)],
        "zope-interface": [
            InstalledDist(name=canonicalize_name("zope.interface"), version=Version("6.0.post1"), dist_info=b)
        ],
    }


def test_scan_falls_back_to_metadata_for_odd_names(tmp_path: Path) -> None:
    site = tmp_path / "site"
    no_version = _dist_info(site, "oddname.dist-info", metadata="Metadata-Version: 2.1\nName: Odd.Name\nVersion: 2.3\n")
    bad_version = _dist_info(site, "weird-notaversion!.dist-info", metadata="Name: weird\nVersion: 1.0b2\n")
    unparsable = _dist_info(site, "strange-x.dist-info", metadata="Name: strange\nVersion: not a version\n")
    found = scan([site])
    assert found == {
        "odd-name": [InstalledDist(name=canonicalize_name("odd-name"), version=Version("2.3"), dist_info=no_version)],
        "weird": [InstalledDist(name=canonicalize_name("weird"), version=Version("1.0b2"), dist_info=bad_version)],
        "strange": [InstalledDist(name=canonicalize_name("strange"), version=None, dist_info=unparsable)],
    }


def test_scan_skips_unreadable_dist_info(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _dist_info(site, "nometa.dist-info")  # no version in the name, no METADATA
    _dist_info(site, "noname.dist-info", metadata="Version: 1\n")
    _dist_info(site, "latin.dist-info").joinpath("METADATA").write_bytes(b"Name: caf\xe9\n")
    assert scan([site]) == {}


def test_scan_ignores_what_is_not_dist_info(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "pkg").mkdir()
    (site / "pkg-1.0.egg-info").mkdir()
    (site / "pkg-1.0.data").mkdir()
    (site / "mod.py").write_text("")
    (site / "distutils-precedence.pth").write_text("")
    real = _dist_info(site, "real-2.0.dist-info")
    assert scan([site]) == {
        "real": [InstalledDist(name=canonicalize_name("real"), version=Version("2.0"), dist_info=real)]
    }


def test_scan_keeps_duplicates_and_dedupes_directories(tmp_path: Path) -> None:
    purelib = tmp_path / "purelib"
    platlib = tmp_path / "platlib"
    one = _dist_info(purelib, "pkg-1.0.dist-info")
    two = _dist_info(purelib, "PKG-2.0.dist-info")
    three = _dist_info(platlib, "pkg-3.0.dist-info")
    found = scan([purelib, platlib, purelib, tmp_path / "missing"])
    assert [d.dist_info for d in found[canonicalize_name("pkg")]] == [
        two,
        one,
        three,
    ]  # sorted per directory, directories in order
    assert [d.version for d in found[canonicalize_name("pkg")]] == [Version("2.0"), Version("1.0"), Version("3.0")]


def test_scan_of_missing_directories(tmp_path: Path) -> None:
    assert scan([tmp_path / "nope"]) == {}
    assert dist_info_names([tmp_path / "nope"]) == []


def _again(dist: InstalledDist) -> InstalledDist:
    """The distribution as the next scan finds it: one object reads each of its files once."""
    return InstalledDist(name=dist.name, version=dist.version, dist_info=dist.dist_info)


def _direct_url(dist: InstalledDist) -> str | None:
    return _again(dist).direct_url  # a call, so mypy does not narrow the property between file writes


def _content(dist: InstalledDist) -> str | None:
    return _again(dist).content


def test_direct_url(tmp_path: Path) -> None:
    dist_info = _dist_info(tmp_path, "pkg-1.0.dist-info")
    dist = InstalledDist(name=canonicalize_name("pkg"), version=Version("1.0"), dist_info=dist_info)
    assert _direct_url(dist) is None
    (dist_info / "direct_url.json").write_text(json.dumps({"url": "file:///w/pkg.whl", "archive_info": {}}))
    assert _direct_url(dist) == "file:///w/pkg.whl"
    for broken in ("not json", json.dumps(["url"]), json.dumps({"url": 3}), json.dumps({"dir_info": {}})):
        (dist_info / "direct_url.json").write_text(broken)
        assert _direct_url(dist) is None, broken


def test_direct_url_names_the_subdirectory_of_an_archive_or_a_checkout(tmp_path: Path) -> None:
    # another subdirectory of the same file or commit is another project: it must not compare equal
    dist_info = _dist_info(tmp_path, "pkg-1.0.dist-info")
    dist = InstalledDist(name=canonicalize_name("pkg"), version=Version("1.0"), dist_info=dist_info)
    vcs = {"url": "https://h/r.git", "vcs_info": {"vcs": "git", "commit_id": "ab" * 20}, "subdirectory": "a/b"}
    (dist_info / "direct_url.json").write_text(json.dumps(vcs))
    assert _direct_url(dist) == f"git+https://h/r.git@{'ab' * 20}#subdirectory=a/b"
    assert _direct_url(dist) == source_id("https://h/r.git", vcs="git", commit="ab" * 20, subdirectory="a/b")
    archive = {"url": "file:///r.zip", "archive_info": {}, "subdirectory": "a"}
    (dist_info / "direct_url.json").write_text(json.dumps(archive))
    assert _direct_url(dist) == "file:///r.zip#subdirectory=a"
    assert _direct_url(dist) != source_id("file:///r.zip")


def test_archive_hashes_read_pep_610_hashes_and_the_older_hash(tmp_path: Path) -> None:
    dist_info = _dist_info(tmp_path, "pkg-1.0.dist-info")
    dist = InstalledDist(name=canonicalize_name("pkg"), version=Version("1.0"), dist_info=dist_info)
    assert dist.archive_hashes == {}
    both = {"hashes": {"sha256": "AB", "sha512": "cd"}, "hash": "md5=EF"}
    for info, expected in (
        (both, {"sha256": "ab", "sha512": "cd", "md5": "ef"}),
        ({"hash": "sha256=AB"}, {"sha256": "ab"}),
        ({"hash": "no-equals"}, {}),
        ([], {}),
    ):
        (dist_info / "direct_url.json").write_text(json.dumps({"url": "file:///w/pkg.whl", "archive_info": info}))
        assert _again(dist).archive_hashes == expected, info
    for broken in ("not json", json.dumps(["url"]), json.dumps({"dir_info": {}})):
        (dist_info / "direct_url.json").write_text(broken)
        assert _again(dist).archive_hashes == {}, broken


def test_content(tmp_path: Path) -> None:
    dist_info = _dist_info(tmp_path, "pkg-1.0.dist-info")
    dist = InstalledDist(name=canonicalize_name("pkg"), version=Version("1.0"), dist_info=dist_info)
    assert _content(dist) is None
    (dist_info / OUR_METADATA).write_text(json.dumps({"by": "0.1.0", "content": "abc123"}))
    assert _content(dist) == "abc123"
    for broken in ("{", json.dumps("abc"), json.dumps({"content": None}), json.dumps({"content": 1})):
        (dist_info / OUR_METADATA).write_text(broken)
        assert _content(dist) is None, broken


def test_each_note_is_read_once_however_often_the_plan_asks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a plan asks every kept distribution for its source and its artifact, a source tree's for three notes: with
    # thousands installed, each ask was a file read (a bump at 2,000 packages: 4,000 reads, most of its CPU)
    site = tmp_path / "site"
    dist_info = _dist_info(site, "pkg-1.0.dist-info")
    direct = {"url": "file:///w/pkg.whl", "archive_info": {"hashes": {"sha256": "ab"}}}
    (dist_info / "direct_url.json").write_text(json.dumps(direct))
    (dist_info / OUR_METADATA).write_text(json.dumps({"artifact": "sha256:ab", "content": "c", "tree": "t"}))
    opened: list[str] = []
    real_open = open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401  # open's own signature
        opened.append(Path(file).name)
        return real_open(file, *args, **kwargs)

    [dist] = scan([site])[canonicalize_name("pkg")]
    monkeypatch.setattr("builtins.open", counting_open)
    for _ in range(3):
        assert (dist.direct_url, dist.archive_hashes) == ("file:///w/pkg.whl", {"sha256": "ab"})
        assert (dist.artifact_hash, dist.content, dist.tree) == ("sha256:ab", "c", "t")
    assert sorted(opened) == ["direct_url.json", OUR_METADATA]


def test_our_metadata_file_name() -> None:
    assert OUR_METADATA == "venvsync.json"


def test_dist_info_names_sorted(tmp_path: Path) -> None:
    purelib = tmp_path / "purelib"
    platlib = tmp_path / "platlib"
    for name in ("zeta-1.dist-info", "Alpha-2.dist-info", "mid-3.dist-info"):
        _dist_info(purelib, name)
    _dist_info(platlib, "beta-1.dist-info")
    _dist_info(platlib, "mid-3.dist-info")  # in both: listed once
    (purelib / "notes.txt").write_text("")
    (purelib / "pkg").mkdir()
    assert dist_info_names([purelib, platlib, purelib]) == [
        "Alpha-2.dist-info",
        "beta-1.dist-info",
        "mid-3.dist-info",
        "zeta-1.dist-info",
    ]


def test_scan_sorts_each_directory_whatever_order_the_file_system_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by mutation testing: test_scan_keeps_duplicates_and_dedupes_directories passed unsorted, in the order
    # the file system happened to list
    site = tmp_path / "site"
    one = _dist_info(site, "pkg-1.0.dist-info")
    two = _dist_info(site, "pkg-2.0.dist-info")
    listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: sorted(listdir(path), reverse=True))
    assert [d.dist_info for d in scan([site])[canonicalize_name("pkg")]] == [one, two]


def test_scan_reads_no_copy_of_a_dist_info_directory(tmp_path: Path) -> None:
    # found by mutation testing: a backup beside a distribution's .dist-info (with its METADATA) is no distribution
    site = tmp_path / "site"
    _dist_info(site, "pkg-1.0.dist-info.bak", metadata="Name: pkg\nVersion: 1.0\n")
    _dist_info(site, "old-pkg-1.0.dist-info~", metadata="Name: old-pkg\nVersion: 1.0\n")
    assert scan([site]) == {}


def test_scan_reads_a_name_with_dashes_from_the_directory_and_a_name_it_lacks_from_metadata(tmp_path: Path) -> None:
    # found by mutation testing: the version is after the last dash (an old installer kept the project's dashes); a
    # directory named by a version alone is read from its METADATA
    site = tmp_path / "site"
    dashed = _dist_info(site, "foo-bar-1.0.dist-info")  # no METADATA: the directory's name is all there is
    nameless = _dist_info(site, "-2.0.dist-info", metadata="Name: real\nVersion: 2.0\n")
    assert scan([site]) == {
        "foo-bar": [InstalledDist(name=canonicalize_name("foo-bar"), version=Version("1.0"), dist_info=dashed)],
        "real": [InstalledDist(name=canonicalize_name("real"), version=Version("2.0"), dist_info=nameless)],
    }


def test_one_name_and_version_in_two_directories_are_two_distributions(tmp_path: Path) -> None:
    # found by mutation testing: a broken venv's two copies (purelib and platlib) are each removed, not taken for one
    name, version = canonicalize_name("pkg"), Version("1.0")
    one = InstalledDist(name=name, version=version, dist_info=tmp_path / "purelib" / "pkg-1.0.dist-info")
    two = InstalledDist(name=name, version=version, dist_info=tmp_path / "platlib" / "pkg-1.0.dist-info")
    assert one != two
    assert len({one, two}) == 2
    assert one == InstalledDist(name=name, version=version, dist_info=tmp_path / "purelib" / "pkg-1.0.dist-info")


def test_a_direct_url_json_of_the_wrong_shapes_names_the_url_alone(tmp_path: Path) -> None:
    # found by mutation testing: a vcs_info or subdirectory of another type, an editable that is no true, read as
    # absent (a vcs_info that is a string was a traceback)
    dist_info = _dist_info(tmp_path, "pkg-1.0.dist-info")
    dist = InstalledDist(name=canonicalize_name("pkg"), version=Version("1.0"), dist_info=dist_info)
    for odd in (
        {"vcs_info": "git"},
        {"subdirectory": 3},
        {"dir_info": {"editable": "yes"}},
        {"dir_info": {"editable": 1}},
    ):
        (dist_info / "direct_url.json").write_text(json.dumps({"url": "file:///p", **odd}))
        assert _direct_url(dist) == "file:///p", odd
    (dist_info / "direct_url.json").write_text(json.dumps({"url": "file:///p", "dir_info": {"editable": True}}))
    assert _direct_url(dist) == "editable+file:///p"


def test_archive_hashes_prefer_pep_610_hashes_to_the_older_hash(tmp_path: Path) -> None:
    # found by mutation testing: where both give a digest of one algorithm, "hashes" is the one read
    dist_info = _dist_info(tmp_path, "pkg-1.0.dist-info")
    info = {"hashes": {"sha256": "ab"}, "hash": "sha256=cd"}
    (dist_info / "direct_url.json").write_text(json.dumps({"url": "file:///w/pkg.whl", "archive_info": info}))
    dist = InstalledDist(name=canonicalize_name("pkg"), version=Version("1.0"), dist_info=dist_info)
    assert dist.archive_hashes == {"sha256": "ab"}


def test_noted_only_by_our_own_metadata_document(tmp_path: Path) -> None:
    # found by mutation testing: a venvsync.json that is no JSON object was not written by a tox-venvsync
    dist_info = _dist_info(tmp_path, "pkg-1.0.dist-info")
    dist = InstalledDist(name=canonicalize_name("pkg"), version=Version("1.0"), dist_info=dist_info)
    assert not _again(dist).noted
    for document, noted in (("{}", True), ('{"artifact": "sha256:ab"}', True), ("[]", False), ('"x"', False)):
        (dist_info / OUR_METADATA).write_text(document)
        assert _again(dist).noted is noted, document
