"""The memo of a discovery the running interpreter answered (``_discovery.discover`` with ``memo``)."""

from __future__ import annotations

import copy
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import pytest
from python_discovery import PythonInfo

from tox_venvsync import _discovery
from tox_venvsync._cache import Cache
from tox_venvsync._discovery import discover

if TYPE_CHECKING:
    from pathlib import Path

#: a spec the interpreter running the tests satisfies: python-discovery proposes it first, so it is the answer
_RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count virtualenv's lookups (each a real discovery), which still run."""
    from virtualenv.discovery import builtin  # noqa: PLC0415  # the module discover imports it from

    asked: list[str] = []
    real = builtin.get_interpreter

    def counted(spec: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401  # virtualenv's signature
        asked.append(spec)
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(builtin, "get_interpreter", counted)
    return asked


def _memo_files(memo: Path) -> list[Path]:
    return sorted(memo.glob("*.json")) if memo.is_dir() else []


def test_the_running_interpreter_s_answer_is_kept_and_given_back_without_a_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = _counting(monkeypatch)
    memo = tmp_path / "discovered"
    first = discover([_RUNNING], try_first_with=[], env=os.environ, cache=Cache(tmp_path))
    assert first is not None
    assert asked == [_RUNNING]
    assert len(_memo_files(memo)) == 1
    again = discover([_RUNNING], try_first_with=[], env=os.environ, cache=Cache(tmp_path))
    assert asked == [_RUNNING]  # no second lookup
    assert isinstance(again, PythonInfo)
    assert again.to_dict() == first.to_dict()
    assert again.install_path("purelib") == first.install_path("purelib")  # the venv's layout, as the runner asks


def test_a_kept_answer_is_looked_up_again_once_the_interpreter_s_binary_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = _counting(monkeypatch)
    memo = tmp_path / "discovered"
    discover([_RUNNING], try_first_with=[], env=os.environ, cache=Cache(tmp_path))
    (file,) = _memo_files(memo)
    kept = json.loads(file.read_text(encoding="utf-8"))
    kept["identity"][1][4] -= 1  # the system interpreter's binary had another modification time (an upgrade since)
    file.write_text(json.dumps(kept), encoding="utf-8")
    assert discover([_RUNNING], try_first_with=[], env=os.environ, cache=Cache(tmp_path)) is not None
    assert asked == [_RUNNING, _RUNNING]  # looked up again, and kept anew
    assert json.loads(file.read_text(encoding="utf-8"))["identity"][1][4] == kept["identity"][1][4] + 1


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(sys.executable, id="a-path"),  # python-discovery proposes the path, not the running one
        pytest.param("no-such-python-here", id="a-name-on-path"),  # looked up on PATH only
    ],
)
def test_a_spec_that_names_a_file_is_never_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    asked = _counting(monkeypatch)
    memo = tmp_path / "discovered"
    assert _discovery._memo_file(memo, spec) is None  # no place for it
    env = {**os.environ, "PATH": str(tmp_path)}  # nothing on it: the lookup of a name ends at once
    for _ in range(2):
        discover([spec], try_first_with=[], env=env, cache=Cache(tmp_path))
    assert _memo_files(memo) == []
    assert len(asked) == 2  # looked up each time


def test_tox_s_discover_option_is_looked_up_and_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the interpreters --discover names are proposed before the running one: they may answer instead
    asked = _counting(monkeypatch)
    memo = tmp_path / "discovered"
    discover([_RUNNING], try_first_with=[], env=os.environ, cache=Cache(tmp_path))
    (file,) = _memo_files(memo)
    file.unlink()
    discover([_RUNNING], try_first_with=[sys.executable], env=os.environ, cache=Cache(tmp_path))
    assert _memo_files(memo) == []  # not kept
    discover([_RUNNING], try_first_with=[], env=os.environ, cache=Cache(tmp_path))  # kept again
    discover([_RUNNING], try_first_with=[sys.executable], env=os.environ, cache=Cache(tmp_path))
    assert asked == [_RUNNING] * 4  # and not read


def test_an_interpreter_found_elsewhere_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the running interpreter satisfies the spec, but the answer is another object: not its proposal's answer
    from virtualenv.discovery import builtin  # noqa: PLC0415  # the module discover imports it from

    real = builtin.get_interpreter
    monkeypatch.setattr(builtin, "get_interpreter", lambda *args, **kwargs: copy.copy(real(*args, **kwargs)))
    memo = tmp_path / "discovered"
    assert discover([_RUNNING], try_first_with=[], env=os.environ, cache=Cache(tmp_path)) is not None
    assert _memo_files(memo) == []


def test_a_memo_that_does_not_read_is_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _counting(monkeypatch)
    memo = tmp_path / "discovered"
    discover([_RUNNING], try_first_with=[], env=os.environ, cache=Cache(tmp_path))
    (file,) = _memo_files(memo)
    file.write_text("{not json", encoding="utf-8")
    assert discover([_RUNNING], try_first_with=[], env=os.environ, cache=Cache(tmp_path)) is not None
    assert asked == [_RUNNING, _RUNNING]


def test_the_memo_is_keyed_by_the_running_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    memo = tmp_path / "discovered"
    kept = _discovery._memo_file(memo, _RUNNING)  # the key itself
    monkeypatch.setattr(sys, "executable", f"{sys.executable}-another")
    assert _discovery._memo_file(memo, _RUNNING) != kept
