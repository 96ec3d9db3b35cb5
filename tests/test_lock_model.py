"""The model's wheel choice on tag strings agrees with packaging's tags."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.tags import parse_tag
from packaging.utils import parse_wheel_filename

from tox_venvsync._errors import SelectionError
from tox_venvsync._lock._model import (
    Artifact,
    best_wheel,
    choose_file,
    named_all,
    not_a_commit,
    not_a_git_url,
    tag_summary,
    wheel_tags,
    wrong_digest,
)
from tox_venvsync._lock._request import Request

if TYPE_CHECKING:
    from collections.abc import Callable

    from tox_venvsync._target import Target

NAMES = [
    "numpy-2.3.5-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    "six-1.17.0-py2.py3-none-any.whl",
    "cryptography-46.0.3-cp311-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
    "pydantic_core-2.41.5-cp312-cp312-MUSLLINUX_1_1_X86_64.whl",
    "orjson-3.11.4-cp312-cp312-macosx_10_15_x86_64.macosx_11_0_arm64.macosx_10_15_universal2.whl",
    "pkg-1.0-1-py3-none-any.whl",  # a build tag
    "weird-1.0-py3.py2-none.abi3-any.whl",
    "not-a-wheel-1.0.tar.gz",
    "missing-parts-py3-any.whl",
]


@pytest.mark.parametrize("name", [n for n in NAMES if n.endswith(".whl") and n != "missing-parts-py3-any.whl"])
def test_wheel_tags_are_packagings_as_strings(name: str) -> None:
    assert wheel_tags(name) == {str(tag) for tag in parse_wheel_filename(name)[3]}


def test_a_name_that_is_no_wheel_has_no_tags() -> None:
    assert wheel_tags("not-a-wheel-1.0.tar.gz") == frozenset()
    assert wheel_tags("py3-none-any.whl") == frozenset()
    assert wheel_tags("-py3-none-any.whl") == frozenset()  # no name before its tags


def test_a_wheel_name_without_a_version_is_never_the_best(target_of: Callable[[str], Target]) -> None:
    # its tags fit, but it is no valid wheel name: another one of the lock is taken, or none
    ranks = target_of("3.12").tag_ranks
    nameless, fine = _wheel("pkg-py3-none-any.whl"), _wheel("pkg-1.0-py2.py3-none-any.whl")
    assert wheel_tags(nameless.filename) == {"py3-none-any"}
    assert best_wheel([nameless], ranks) is None
    assert best_wheel([nameless, fine], ranks) is fine


def _wheel(name: str) -> Artifact:
    return Artifact(filename=name, url=None, path=None, size=None, hashes={})


@pytest.mark.parametrize("version", ["3.10", "3.12", "3.13"])
def test_best_wheel_is_the_one_packagings_priority_gives(version: str, target_of: Callable[[str], Target]) -> None:
    target = target_of(version)
    wheels = [_wheel(name) for name in NAMES if name.endswith(".whl")]
    wheels += [_wheel(f"lib-1.0-{tag}.whl") for tag in (str(t) for t in target.tags[::37])]
    priority = {tag: rank for rank, tag in enumerate(target.tags)}

    def rank(artifact: Artifact) -> int | None:
        try:
            tags = parse_wheel_filename(artifact.filename)[3]
        except ValueError:
            return None
        return min((priority[t] for t in tags if t in priority), default=None)

    ranked = [(r, i) for i, w in enumerate(wheels) if (r := rank(w)) is not None]
    expected = wheels[min(ranked)[1]] if ranked else None
    assert best_wheel(wheels, target.tag_ranks) == expected
    assert best_wheel(reversed(wheels), target.tag_ranks) == expected  # one best: no tie to break here


_PYTHONS = st.sampled_from(["py3", "py2.py3", "cp312", "CP312", "cp39", "pp310", "py310"])
_ABIS = st.sampled_from(["none", "abi3", "cp312", "cp313", "none.abi3"])
_PLATFORMS = st.sampled_from(
    [
        "any",
        "ANY",
        "manylinux_2_17_x86_64",
        "manylinux2014_x86_64.manylinux_2_17_x86_64",
        "MANYLINUX_2_28_X86_64",
        "musllinux_1_2_x86_64",
        "macosx_11_0_arm64.any",
        "win_amd64",
        "linux_x86_64",
        "manylinux_2_17_aarch64",
    ]
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(parts=st.lists(st.tuples(_PYTHONS, _ABIS, _PLATFORMS, st.booleans()), min_size=1, max_size=8))
def test_best_wheel_is_packagings_choice_for_any_wheel_names(
    parts: list[tuple[str, str, str, bool]], target_of: Callable[[str], Target]
) -> None:
    """Wheels for other platforms are ruled out by their platform tag first: never a wheel that fits (any case)."""
    target = target_of("3.12")
    wheels = [
        _wheel(f"pkg-1.0{'-1' if build else ''}-{python}-{abi}-{platform}.whl")
        for python, abi, platform, build in parts
    ]
    priority = {tag: rank for rank, tag in enumerate(target.tags)}
    ranks = [
        min((priority[t] for t in parse_wheel_filename(w.filename)[3] if t in priority), default=None) for w in wheels
    ]
    # of equal ranks, a build tag (-1-) goes before none, as pip and uv take it; then the first
    ranked = [(rank, not parts[index][3], index) for index, rank in enumerate(ranks) if rank is not None]
    assert best_wheel(wheels, target.tag_ranks) == (wheels[min(ranked)[2]] if ranked else None)


@pytest.mark.parametrize(
    ("names", "chosen"),
    [
        pytest.param(["pkg-1.0-1-py3-none-any.whl", "pkg-1.0-2-py3-none-any.whl"], 1, id="higher-build"),
        pytest.param(["pkg-1.0-py3-none-any.whl", "pkg-1.0-1-py3-none-any.whl"], 1, id="build-over-none"),
        pytest.param(["pkg-1.0-10-py3-none-any.whl", "pkg-1.0-9-py3-none-any.whl"], 0, id="numeric-order"),
        pytest.param(["pkg-1.0-1b-py3-none-any.whl", "pkg-1.0-1a-py3-none-any.whl"], 0, id="same-number-by-text"),
        pytest.param(
            ["pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "pkg-1.0-9-py3-none-any.whl"], 0, id="tags-first"
        ),
        pytest.param(["pkg-1.0-2-py3-none-any.whl", "pkg-1.0-2-py3-none-any.whl"], 0, id="first-of-equals"),
    ],
)
def test_of_equally_fitting_wheels_the_highest_build_tag_wins(
    names: list[str], chosen: int, target_of: Callable[[str], Target]
) -> None:
    """pip, uv (sync and pip install), Poetry and PDM take the highest build tag of wheels whose tags rank equally."""
    wheels = [
        Artifact(filename=name, url=f"https://example.invalid/{i}", path=None, size=None, hashes={})
        for i, name in enumerate(names)
    ]
    target = target_of("3.12")
    assert best_wheel(wheels, target.tag_ranks) is wheels[chosen]


@pytest.mark.parametrize(
    ("tags", "summary"),
    [
        pytest.param(
            ["cp312-cp312-linux_x86_64", "cp312-cp312-manylinux_2_36_x86_64", "py3-none-any"],
            "cp312-cp312-linux_x86_64 ... py3-none-any (3 in all; platforms up to manylinux_2_36_x86_64)",
            id="glibc",
        ),
        pytest.param(
            ["cp312-cp312-musllinux_1_2_x86_64", "cp312-cp312-linux_x86_64", "py3-none-any"],
            "cp312-cp312-musllinux_1_2_x86_64 ... py3-none-any (3 in all; platforms up to musllinux_1_2_x86_64)",
            id="musl",
        ),
        pytest.param(
            ["cp312-cp312-macosx_14_0_arm64", "py3-none-any"],
            "cp312-cp312-macosx_14_0_arm64 ... py3-none-any (2 in all)",
            id="macos",
        ),
        pytest.param(["py3-none-any"], "py3-none-any (1 in all)", id="one"),
        pytest.param([], "none", id="none"),
    ],
)
def test_a_tag_summary_names_the_newest_linux_platform(tags: list[str], summary: str) -> None:
    """A wheel for a newer glibc (manylinux_2_39 here, on glibc 2.36) is told from one for another interpreter.

    The messages showed ``cp312-cp312-linux_x86_64 ... py30-none-any (987 in all)``: nothing of the system's glibc
    (found by QA; uv's hint names it).
    """
    assert tag_summary([next(iter(parse_tag(tag))) for tag in tags]) == summary


@pytest.mark.parametrize(
    ("hashes", "strongest"),
    [
        pytest.param({"sha256": "AB" * 32}, ("sha256", "ab" * 32), id="lower-cased"),
        pytest.param({"sha256": "a" * 64, "sha512": "b" * 128, "sha384": "c" * 96}, ("sha512", "b" * 128), id="512"),
        pytest.param({"sha256": "a" * 64, "sha384": "c" * 96}, ("sha384", "c" * 96), id="384"),
        pytest.param({"md5": "d" * 32, "sha1": "e" * 40}, None, id="none-we-verify"),
        pytest.param({}, None, id="none"),
    ],
)
def test_the_strongest_hash_we_verify_is_chosen(hashes: dict[str, str], strongest: tuple[str, str] | None) -> None:
    artifact = Artifact(filename="a-1.0-py3-none-any.whl", url=None, path=None, size=None, hashes=hashes)
    assert artifact.strongest_hash == strongest


@pytest.mark.parametrize(
    ("algorithm", "digest", "wrong"),
    [
        ("sha256", "a" * 64, None),
        ("SHA256", "0123456789ABCDEF" * 4, None),
        ("sha512", "f" * 128, None),
        ("md5", "not checked", None),  # an algorithm we do not verify is not checked either
        ("sha256", "a" * 63, f"{'a' * 63!r} is not a sha256 digest (64 hex digits)"),
        ("sha256", "a" * 65, f"{'a' * 65!r} is not a sha256 digest (64 hex digits)"),
        ("sha384", "../" + "a" * 93, f"{'../' + 'a' * 93!r} is not a sha384 digest (96 hex digits)"),  # the cache path
        ("SHA512", "g" * 128, f"{'g' * 128!r} is not a sha512 digest (128 hex digits)"),
    ],
)
def test_a_digest_is_hex_of_its_algorithms_length(algorithm: str, digest: str, wrong: str | None) -> None:
    assert wrong_digest(algorithm, digest) == wrong


@pytest.mark.parametrize(
    ("commit", "pinned"),
    [("a" * 40, True), ("0123456789ABCDEF" * 4, True), ("f" * 39, False), ("f" * 41, False), ("main", False)],
)
def test_only_a_full_commit_id_pins_a_checkout(commit: str, pinned: bool) -> None:  # noqa: FBT001  # a column
    assert (not_a_commit(commit) is None) is pinned
    if not pinned:
        assert (
            not_a_commit(commit)
            == f"{commit!r} is no full commit id (40 hex digits); a branch, tag or short id is not pinned"
        )


@pytest.mark.parametrize(
    "url",
    [
        "https://example.invalid/r.git",
        "HTTP://127.0.0.1:8080/r.git",
        "ssh://git@example.invalid/org/r.git",
        "git://example.invalid/r.git",
        "file:///srv/repos/r.git",
        "git@github.com:org/r.git",  # ssh's short form, which pip takes too
    ],
)
def test_a_git_url_of_the_schemes_pip_and_uv_clone_is_taken(url: str) -> None:
    assert not_a_git_url(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "--upload-pack=touch /tmp/pwned",  # an option of git clone's, which runs the command
        "-uX",
        "ext::sh -c touch% /tmp/pwned",  # a transport that runs a command
        "fd::0",
        "evil::https://example.invalid/r.git",  # runs git-remote-evil from PATH (a script the lock installed)
        "ssh://-oProxyCommand=touch%20x/r.git",  # an option of ssh's
        "-oProxyCommand=x@host:r.git",
        "git@host::r.git",
        "/srv/repos/r.git",  # a path: git clones it with hard links; a URL says file://
        "git+https://example.invalid/r.git",
        "ftp://example.invalid/r.git",
    ],
)
def test_a_git_url_that_is_an_option_a_transport_or_no_url_is_refused(url: str) -> None:
    # the URL is an argument of git clone: found by QA of hostile lockfiles
    assert not_a_git_url(url) == (
        f"{url!r} is no git URL that pip or uv clones: use https://, ssh://, "
        "git://, http:// or file:// (or user@host:path)"
    )


def test_a_git_url_with_a_control_character_is_refused() -> None:
    assert not_a_git_url("https://example.invalid/\x1b[2Jr.git") == (
        "'https://example.invalid/\\x1b[2Jr.git' holds a control character, which no URL does"
    )


def test_a_file_is_chosen_among_the_kinds_allowed(target_of: Callable[[str], Target]) -> None:
    ranks = target_of("3.12").tag_ranks
    wheel, other, sdist, second = (
        _wheel("pkg-1.0-py3-none-any.whl"),
        _wheel("pkg-1.0-cp27-cp27m-win32.whl"),
        _wheel("pkg-1.0.tar.gz"),
        _wheel("pkg-1.0.zip"),
    )
    both = frozenset({"binary", "source"})
    assert choose_file([sdist, wheel, second], ranks, both) is wheel
    assert choose_file([other, sdist, second], ranks, both) is sdist  # no wheel fits: the first sdist
    assert choose_file([sdist, wheel], ranks, frozenset({"source"})) is sdist  # --no-binary
    assert choose_file([sdist, other], ranks, frozenset({"binary"})) is None  # --only-binary, and no wheel fits


def test_named_all_spells_out_every_extra_and_group_less_those_left_out() -> None:
    request = Request(
        extras=frozenset({"a"}), all_extras=True, no_extras=frozenset({"b"}), all_groups=True, groups=frozenset({"g"})
    )
    named = named_all(request, Path("pylock.toml"), extras=["a", "b", "c"], groups=["g", "h"])
    assert (named.extras, named.groups, named.all_extras, named.all_groups) == (
        frozenset({"a", "c"}),
        frozenset({"g", "h"}),
        False,
        False,
    )
    plain = named_all(Request(extras=frozenset({"a"}), groups=frozenset({"g"})), Path("x"), extras=["a"], groups=["g"])
    assert (plain.extras, plain.groups) == (frozenset({"a"}), frozenset({"g"}))


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (Request(packages=frozenset({"lib"})), "--package picks members of a uv workspace"),
        (Request(all_packages=True), "--all-packages picks members of a uv workspace"),
        (Request(no_extras=frozenset({"zz"})), "the lock has no extra zz; it has: a"),
        (Request(no_groups=frozenset({"zz"})), "the lock has no dependency group zz; it has: g"),
    ],
)
def test_named_all_refuses_what_the_lock_cannot_have(request_: Request, reason: str) -> None:
    with pytest.raises(SelectionError) as info:
        named_all(request_, Path("pylock.toml"), extras=["a"], groups=["g"])
    assert info.value.reason.startswith(reason)


def test_a_missing_dev_group_is_no_error_for_no_dev() -> None:
    request = Request(no_groups=frozenset({"dev"}), lenient_groups=frozenset({"dev"}))
    assert named_all(request, Path("pylock.toml"), extras=[], groups=["g"]).groups == frozenset()
