"""The selection flags tox's sync_flags and uv_sync_flags hold: read as uv sync reads them, the rest refused."""

from __future__ import annotations

import argparse

import pytest

from tox_venvsync._errors import BadInputError
from tox_venvsync._lock import Request
from tox_venvsync._selection import add_selection_flags, make_request, parse_sync_flags


def _request(flags: list[str]) -> Request:
    args = parse_sync_flags(flags, "sync_flags")
    return make_request(extras=(), groups=(), only_groups=(), no_default_groups=False, flags=args)


def test_flags_become_the_request() -> None:
    flags = ["--frozen --all-extras", "--no-extra=Fast_Mode", "--package=Lib.One", "--package b", "--no-dev"]
    assert _request(flags) == Request(
        all_extras=True,
        no_extras=frozenset({"fast-mode"}),
        packages=frozenset({"lib-one", "b"}),
        no_groups=frozenset({"dev"}),
        lenient_groups=frozenset({"dev"}),  # uv does not ask that a dev group exists for --no-dev
        frozen=True,
    )
    assert _request(["--only-dev", "--exact", "--no-editable"]) == Request(
        groups=frozenset({"dev"}),
        default_groups=False,
        only_groups=True,
        no_editable=True,
        lenient_groups=frozenset({"dev"}),
    )
    assert _request([]) == Request()


def test_locked_is_what_a_sync_checks_anyway_and_contradicts_frozen() -> None:
    # tox-uv's uv_sync_flags may hold --locked: it changes nothing here, and with --frozen it is refused, as uv does
    assert _request(["--locked"]) == Request()
    with pytest.raises(BadInputError, match=r"^--locked checks that the lock is current and --frozen skips that check"):
        _request(["--locked", "--frozen"])


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        pytest.param(
            ["--no-group"],
            "sync_flags: argument --no-group: expected one argument; see the sync_flags key in the configuration "
            "reference",
            id="missing-value",
        ),
        pytest.param(
            ["--all-extras", "--compile-bytecode"],
            "sync_flags has --compile-bytecode, which tox-venvsync takes from compile_bytecode = true; move it there",
            id="has-a-key",
        ),
        pytest.param(
            ["--group=test"],
            "sync_flags has --group, which tox-venvsync takes from dependency_groups; move it there",
            id="has-a-key-with-its-value",
        ),
        pytest.param(
            ["--python-preference=only-managed"],
            "sync_flags has --python-preference=only-managed, which tox-venvsync does not read; it reads --all-extras, "
            "--no-extra, --all-groups, --no-group, --no-dev, --only-dev, --package, --all-packages, --no-editable, "
            "--frozen, --locked and --exact: leave the rest out",
            id="unknown",
        ),
        pytest.param(
            ["--all"], "sync_flags has --all, which tox-venvsync does not read; it reads", id="no-abbreviations"
        ),
        pytest.param(
            ["--reinstall --compile-bytecode"],
            "sync_flags has --reinstall, which tox-venvsync does not read",
            id="first-named",
        ),
        pytest.param(["-h"], "sync_flags has -h, which tox-venvsync does not read; it reads", id="no-help"),
        pytest.param(
            ['--package "a'],
            "sync_flags cannot be split into flags (No closing quotation); fix the quotes",
            id="unsplittable",
        ),
    ],
)
def test_flags_not_read_here_are_refused_in_one_sentence(flags: list[str], message: str) -> None:
    with pytest.raises(BadInputError) as info:
        parse_sync_flags(flags, "sync_flags")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_the_command_lines_frozen_is_no_locked_to_contradict() -> None:
    # venvsync's command line has no --locked (a sync checks anyway): its --frozen alone is taken, not refused
    parser = argparse.ArgumentParser()
    add_selection_flags(parser)
    args = parser.parse_args(["--frozen"])
    assert make_request(extras=(), groups=(), only_groups=(), no_default_groups=False, flags=args) == Request(
        frozen=True
    )


def test_no_flags_are_what_the_parser_gives_for_none() -> None:
    # no parser is made for an environment without flags: its answer must be the parser's own defaults
    from tox_venvsync._selection import _parser  # noqa: PLC0415

    assert vars(_parser("sync_flags").parse_args([])) == vars(parse_sync_flags([], "sync_flags"))


@pytest.mark.parametrize(
    ("flags", "given"),
    [(["--all-extras"], "--all-extras"), (["--all-groups"], "--all-groups")],
    ids=["extras", "groups"],
)
def test_only_groups_refuses_every_extra_or_group_as_uv_sync_only_group_does(flags: list[str], given: str) -> None:
    # uv sync --only-group lint --all-extras: "the argument '--only-group <ONLY_GROUP>' cannot be used with
    # '--all-extras'" (uv 0.13.9); the project is not installed, so its extras would select nothing
    args = parse_sync_flags(flags, "sync_flags")
    with pytest.raises(BadInputError) as info:
        make_request(extras=(), groups=(), only_groups=("lint",), no_default_groups=False, flags=args)
    assert str(info.value) == f"only_groups installs those groups alone: leave out {given} (uv sync refuses it too)"
