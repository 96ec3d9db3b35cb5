"""Tests of the atomic writes, the modes given to files other users read, and a tree removal's error."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tox_venvsync._atomic import readable_by_all, remove_tree, write_atomic

if TYPE_CHECKING:
    from collections.abc import Callable


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_made_readable_in_order_up_to_the_first_that_cannot_be(tmp_path: Path) -> None:
    # found by mutation testing: a tree's marker comes last and, readable, says the files before it are; a file that
    # cannot be changed stops the ones after it, the marker among them
    first, marker = tmp_path / "first", tmp_path / "marker"
    for path in (first, marker):
        path.write_text("")
        path.chmod(0o600)
    readable_by_all([(first, 0o644), (tmp_path / "gone", 0o644), (marker, 0o644)])
    assert (_mode(first), _mode(marker)) == (0o644, 0o600)


def test_an_atomic_write_has_its_mode_before_it_appears(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # found by mutation testing: another user's reader never finds the file without the mode it is given
    target = tmp_path / "deep" / "state.json"
    seen: list[int] = []
    rename = Path.replace

    def replace(self: Path, to: Path) -> Path:
        seen.append(_mode(self))
        return rename(self, to)

    monkeypatch.setattr(Path, "replace", replace)
    write_atomic(target, "{}", mode=0o640)
    assert seen == [0o640]
    assert (target.read_text(), _mode(target)) == ("{}", 0o640)
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def _rmtree_failing_twice(
    path: Path, onexc: Callable[..., object] | None = None, onerror: Callable[..., object] | None = None
) -> None:
    """``shutil.rmtree`` as Python 3.13 runs it when a file cannot be removed.

    The handler's error for the file is caught, the handler is called again for the directory that could not be
    removed then, and the error it raises that time is the one that leaves.
    """
    failures = [
        (os.unlink, str(path / "sub" / "METADATA"), PermissionError(errno.EACCES, "Permission denied")),
        (os.rmdir, str(path / "sub"), OSError(errno.ENOTEMPTY, "Directory not empty")),
    ]
    raised = [_handled(onexc, onerror, *failure) for failure in failures]
    raise raised[-1]


def _handled(
    onexc: Callable[..., object] | None,
    onerror: Callable[..., object] | None,
    function: Callable[..., object],
    failed: str,
    error: OSError,
) -> OSError:
    """The error the handler raises for ``error`` (``onexc``, or before 3.12 ``onerror`` with sys.exc_info())."""
    try:
        if onexc is not None:
            onexc(function, failed, error)
        else:
            assert onerror is not None
            onerror(function, failed, (type(error), error, None))
    except OSError as exc:
        return exc
    msg = f"the handler let {failed} pass"
    raise AssertionError(msg)


def test_a_removal_s_error_names_the_first_file_that_failed_by_its_whole_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by mutation testing: Python 3.13 calls the handler again for the directory of the file that failed; the
    # error that leaves still names that file, by its whole path
    monkeypatch.setattr(shutil, "rmtree", _rmtree_failing_twice)
    with pytest.raises(PermissionError) as raised:
        remove_tree(tmp_path / "venv")
    assert (raised.value.errno, raised.value.filename) == (errno.EACCES, str(tmp_path / "venv" / "sub" / "METADATA"))
