"""What verify reads of a venv's files on its own: the interpreter a script starts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tox_venvsync._verify import _started_interpreter

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("head", "started"),
    [
        pytest.param(b"#!/old/venv/bin/python\nimport sys\n", "/old/venv/bin/python", id="shebang"),
        pytest.param(
            b"#!/bin/sh\n'''exec' '/old/venv/bin/python' \"$0\" \"$@\"\n' '''\n", "/old/venv/bin/python", id="sh"
        ),
        pytest.param(b"", None, id="empty"),
        pytest.param(b"#!python\n", None, id="relative"),  # found on PATH at run time: it moves with the venv
        pytest.param(b"#!\n", None, id="no-interpreter"),
        pytest.param(b"# /old/venv/bin/python\n", None, id="a-comment-is-no-shebang"),
        pytest.param(b"\x7fELF\x02\x01\x01/old/venv/bin/python\n", None, id="binary"),
    ],
)
def test_only_a_shebang_line_names_the_interpreter_a_script_starts(
    tmp_path: Path, head: bytes, started: str | None
) -> None:
    # a script cut off empty, or a file whose first line is no "#!", starts no interpreter: none is named moved
    script = tmp_path / "tool"
    script.write_bytes(head)
    assert _started_interpreter(script) == started


def test_a_directory_where_a_script_should_be_starts_no_interpreter(tmp_path: Path) -> None:
    # open() refuses a directory's descriptor: verify ended in IsADirectoryError for a directory at bin/<script>
    (tmp_path / "bin" / "tool").mkdir(parents=True)
    assert _started_interpreter(tmp_path / "bin" / "tool") is None
