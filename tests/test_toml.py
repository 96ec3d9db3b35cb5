"""Reading TOML lockfiles table by table with a memo: always what tomllib gives for the whole text."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import tomli

from tox_venvsync._errors import LockFileError
from tox_venvsync._lock._toml import memo_dir, read_toml

if sys.version_info >= (3, 11):  # pragma: no cover - depends on the interpreter
    import tomllib
else:  # pragma: no cover - depends on the interpreter
    import tomli as tomllib

if TYPE_CHECKING:
    from pytest_mock import MockerFixture

#: the answer every read must give: the standard library's parser (tomli before 3.11), unpatched
reference = tomllib.loads
DATA = Path(__file__).parent / "data" / "lockfiles"
LOCKS = sorted(p for p in DATA.rglob("*") if p.name.endswith((".lock", "pylock.toml")))


def _read(path: Path, memo: Path) -> dict[str, Any]:
    with memo_dir(memo):
        return read_toml(path)[1]


@pytest.fixture
def seen(mocker: MockerFixture) -> list[tuple[str, str]]:
    """``(parser, text)`` for each text a parser is asked to parse: ``tomli``, or the standard library's ``tomllib``."""
    calls: list[tuple[str, str]] = []
    for module in {tomli, tomllib}:
        real = module.loads

        def loads(text: str, *, _real: Any = real, _name: str = module.__name__) -> dict[str, Any]:  # noqa: ANN401
            calls.append((_name, text))
            return _real(text)  # type: ignore[no-any-return]

        mocker.patch.object(module, "loads", loads)
    return calls


def test_little_text_is_parsed_by_the_loaded_standard_parser_and_much_by_tomli(
    tmp_path: Path, seen: list[tuple[str, str]]
) -> None:
    """tomli's compiled wheel parses a lockfile 3-4x faster than the standard library's copy of it (tomllib) but
    takes 5-7 ms to load, where tox has loaded tomllib already; both give the same answers (every test here
    compares its results with tomllib's)."""
    small = 'lock-version = "1.0"\n'
    lock = tmp_path / "pylock.toml"
    lock.write_text(small, encoding="utf-8")
    assert read_toml(lock) == (small.encode(), {"lock-version": "1.0"})
    large = small + "".join(f'[[packages]]\nname = "p{n}"\nversion = "1.0"\n' for n in range(1200))
    assert len(large) > 32 * 1024
    lock.write_text(large, encoding="utf-8")
    assert read_toml(lock)[1] == reference(large)
    standard = "tomllib" if sys.version_info >= (3, 11) else "tomli"
    assert seen[:2] == [(standard, small), ("tomli", large)]


def test_a_bump_s_few_tables_are_parsed_by_the_standard_parser(tmp_path: Path, seen: list[tuple[str, str]]) -> None:
    lock = tmp_path / "uv.lock"
    text = (DATA / "uv" / "pallets__flask" / "uv.lock").read_text(encoding="utf-8")
    assert len(text) > 32 * 1024
    lock.write_text(text, encoding="utf-8")
    _read(lock, tmp_path / "memo")
    assert {parser for parser, _ in seen} == {"tomli"}  # the whole lock's tables, parsed anew
    seen.clear()
    bumped = text.replace('name = "blinker"\nversion = "', 'name = "blinker"\nversion = "9', 1)
    lock.write_text(bumped, encoding="utf-8")
    assert _read(lock, tmp_path / "memo") == reference(bumped)
    standard = "tomllib" if sys.version_info >= (3, 11) else "tomli"
    assert [parser for parser, _ in seen] == [standard, standard]  # the head and blinker's table


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: str(p.relative_to(DATA)))
def test_real_lockfiles_read_the_same_cold_warm_and_after_a_change(tmp_path: Path, lock: Path) -> None:
    text = lock.read_text(encoding="utf-8")
    expected = reference(text)
    copy = tmp_path / lock.name
    copy.write_text(text, encoding="utf-8")
    assert _read(copy, tmp_path / "memo") == expected  # cold
    assert _read(copy, tmp_path / "memo") == expected  # from the memo
    key = "packages" if "packages" in expected else "package"
    first = expected[key][0]
    changed = text.replace(f'version = "{first["version"]}"', 'version = "999.0"', 1)
    copy.write_text(changed, encoding="utf-8")
    assert _read(copy, tmp_path / "memo") == reference(changed)


def test_only_the_changed_table_is_parsed_again(tmp_path: Path, seen: list[tuple[str, str]]) -> None:
    lock = tmp_path / "uv.lock"
    text = (DATA / "uv" / "pallets__flask" / "uv.lock").read_text(encoding="utf-8")
    bumped = text.replace('name = "blinker"\nversion = "', 'name = "blinker"\nversion = "9', 1)
    assert bumped != text
    expected, expected_bumped = reference(text), reference(bumped)
    seen.clear()
    lock.write_text(text, encoding="utf-8")
    _read(lock, tmp_path / "memo")
    tables = text.count("\n[[package]]\n")
    assert len(seen) == 1 + tables  # the head, then each table
    seen.clear()
    assert _read(lock, tmp_path / "memo") == expected
    assert len(seen) == 1  # only the head: every table came from the memo
    seen.clear()
    lock.write_text(bumped, encoding="utf-8")
    memo = next((tmp_path / "memo").iterdir())
    before = memo.read_bytes()
    assert _read(lock, tmp_path / "memo") == expected_bumped
    assert len(seen) == 2  # the head and blinker's table
    assert memo.read_bytes() == before  # one new table of many: the memo is not written again
    seen.clear()
    assert _read(lock, tmp_path / "memo") == expected_bumped
    assert len(seen) == 2  # so blinker's new table is parsed again, the rest still comes from the memo


def test_the_memo_is_written_again_when_many_tables_changed(tmp_path: Path, seen: list[tuple[str, str]]) -> None:
    lock = tmp_path / "uv.lock"
    text = (DATA / "uv" / "pallets__flask" / "uv.lock").read_text(encoding="utf-8")
    lock.write_text(text, encoding="utf-8")
    _read(lock, tmp_path / "memo")
    tables = text.count("\n[[package]]\n")
    changed = text.replace('\nversion = "', '\nversion = "9', tables // 2)  # half the tables
    lock.write_text(changed, encoding="utf-8")
    seen.clear()
    assert _read(lock, tmp_path / "memo") == reference(changed)
    assert len(seen) > tables // 4
    seen.clear()
    assert _read(lock, tmp_path / "memo") == reference(changed)
    assert len(seen) == 1  # only the head: the memo was written with the changed tables


def test_dates_and_times_survive_the_memo(tmp_path: Path) -> None:
    lock = tmp_path / "pylock.toml"
    lock.write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "a"\n'
        "when = 2025-01-02T03:04:05.678+01:00\nday = 2025-01-02\nat = 03:04:05\nlocal = 2025-01-02T03:04:05\n"
        '\n[[packages]]\nname = "b"\nkeys = { "\\u0000toml-time" = 1 }\n',
        encoding="utf-8",
    )
    expected = reference(lock.read_text(encoding="utf-8"))
    assert _read(lock, tmp_path / "memo") == expected
    assert _read(lock, tmp_path / "memo") == expected  # a key that looks like the marker is not kept, just parsed


DOUBTFUL = {
    "a multi-line string could hold a header": 'a = """\n[[package]]\n"""\n[[package]]\nname = "x"\n',
    "a header we do not split at": '[[package]]\nname = "x"\n[[ package ]]\nname = "y"\n[[package]]\nname = "z"\n',
    "a table defined twice": '[meta]\nx = 1\n[[package]]\nname = "x"\n[meta]\ny = 2\n',
    "a key the tables would replace": 'package = 1\n[[package]]\nname = "x"\n',
}


@pytest.mark.parametrize("case", list(DOUBTFUL))
def test_doubtful_documents_get_tomllibs_answer(tmp_path: Path, case: str) -> None:
    lock = tmp_path / "uv.lock"
    text = DOUBTFUL[case]
    lock.write_text(text, encoding="utf-8")
    try:
        expected = reference(text)
    except tomllib.TOMLDecodeError as exc:
        with pytest.raises(LockFileError, match=re.escape(f"is not valid TOML ({exc})")):
            _read(lock, tmp_path / "memo")
    else:
        assert _read(lock, tmp_path / "memo") == expected


def test_a_table_that_does_not_parse_gets_tomllibs_message_for_the_whole_file(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    text = 'version = 1\n\n[[package]]\nname = "a"\n\n[[package]]\nname = "b"\nversion = \n'
    lock.write_text(text, encoding="utf-8")
    with pytest.raises(tomllib.TOMLDecodeError) as whole:
        reference(text)
    with pytest.raises(LockFileError) as ours:
        _read(lock, tmp_path / "memo")
    assert f"({whole.value})" in str(ours.value)  # line 8 of the file, not line 3 of a table


def _memoized_poetry_lock(tmp_path: Path) -> tuple[Path, str, Path]:
    """A poetry.lock read once with a memo: the lock, its text and the memo file."""
    lock = tmp_path / "poetry.lock"
    text = (DATA / "poetry" / "webapp" / "poetry.lock").read_text(encoding="utf-8")
    lock.write_text(text, encoding="utf-8")
    _read(lock, tmp_path / "memo")
    (memo,) = (tmp_path / "memo").iterdir()
    return lock, text, memo


def test_a_broken_memo_is_ignored_and_replaced(tmp_path: Path) -> None:
    lock, text, memo = _memoized_poetry_lock(tmp_path)
    data = json.loads(memo.read_text())
    digest = next(iter(data["tables"]))
    data["tables"][digest] = "garbage"
    memo.write_text(json.dumps(data))
    assert _read(lock, tmp_path / "memo") == reference(text)
    memo.write_text("{not json")
    assert _read(lock, tmp_path / "memo") == reference(text)
    assert json.loads(memo.read_text())["format"] == 1  # written again


@pytest.mark.parametrize(
    "entry",
    [
        [True, {"\x00toml-time": ["century", "x"]}],
        [True, {"\x00toml-time": 5}],
        [True, {"package": [{"when": {"\x00toml-time": ["date", "not a date"]}}]}],
        [False, ["package"]],
        [False, "package"],
    ],
    ids=["unknown-kind", "not-a-pair", "bad-date", "a-list", "a-string"],
)
def test_a_damaged_memo_entry_is_parsed_again(tmp_path: Path, entry: list[Any]) -> None:
    lock, text, memo = _memoized_poetry_lock(tmp_path)
    data = json.loads(memo.read_text())
    data["tables"] = dict.fromkeys(data["tables"], entry)
    memo.write_text(json.dumps(data))
    assert _read(lock, tmp_path / "memo") == reference(text)


def test_without_a_memo_directory_nothing_is_kept(tmp_path: Path, seen: list[tuple[str, str]]) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text((DATA / "uv" / "pallets__flask" / "uv.lock").read_text(encoding="utf-8"), encoding="utf-8")
    read_toml(lock)
    assert len(seen) == 1
    assert list(tmp_path.iterdir()) == [lock]
