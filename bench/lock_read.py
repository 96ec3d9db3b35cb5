"""Time reading and selecting every test lockfile, for the interpreter running this script.

    /work/main/.venv/bin/python bench/lock_read.py

For each lockfile under ``tests/data/lockfiles`` (pylock.toml, uv.lock, pdm.lock, poetry.lock, requirements
``.txt``), times ``read_lock(path, fmt)`` then ``.select(target, Request())`` together: one warm-up run, then
the median of 20. The warm-up's own time is shown too (``first ms``: imports of the reader and its
process-wide caches included). Prints a markdown table and the largest file's median against the 100 ms target.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from tox_venvsync._errors import VenvSyncError
from tox_venvsync._lock import Request, read_lock
from tox_venvsync._target import query_interpreter

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "tests" / "data" / "lockfiles"
RUNS = 20
TARGET_MS = 100.0
_BY_NAME = {"uv.lock": "uv", "pdm.lock": "pdm", "poetry.lock": "poetry"}


def _format(path: Path) -> str | None:
    """The lock_format of a test lockfile, from its name (the real pylocks are ``<owner>__<repo>__pylock.toml``)."""
    if path.name.endswith("pylock.toml"):
        return "pylock"
    if path.name in _BY_NAME:
        return _BY_NAME[path.name]
    if path.suffix == ".txt" and "requirements" in path.relative_to(LOCKS).parts:
        return "requirements"
    return None


def _lockfiles() -> list[tuple[Path, str]]:
    found = [(path, fmt) for path in sorted(LOCKS.rglob("*")) if path.is_file() and (fmt := _format(path))]
    return sorted(found, key=lambda item: (item[1], str(item[0])))


def main() -> int:
    target = query_interpreter(Path(sys.executable))
    request = Request()
    print(f"Python {target.python_full_version} ({sys.executable}); read + select, median of {RUNS} after a warm-up\n")
    print("| file | format | size KB | packages selected | first ms | median ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    largest: tuple[int, str, float] | None = None
    for path, fmt in _lockfiles():
        name = path.relative_to(LOCKS).as_posix()
        size = path.stat().st_size
        times: list[float] = []
        selected = "?"
        try:
            for _ in range(RUNS + 1):
                start = time.perf_counter()
                picks = read_lock(path, fmt).select(target, request)
                times.append((time.perf_counter() - start) * 1000)
            selected = str(len(picks))
        except VenvSyncError as exc:
            print(f"| {name} | {fmt} | {size / 1024:.1f} | error: {str(exc).splitlines()[0][:80]} | | |")
            continue
        median = statistics.median(times[1:])
        print(f"| {name} | {fmt} | {size / 1024:.1f} | {selected} | {times[0]:.1f} | {median:.1f} |")
        if largest is None or size > largest[0]:
            largest = (size, name, median)
    if largest is not None:
        size, name, median = largest
        verdict = "within" if median <= TARGET_MS else "OVER"
        print(
            f"\nLargest file: {name} ({size / 1024:.0f} KB): median {median:.1f} ms, "
            f"{verdict} the {TARGET_MS:.0f} ms target ({median / TARGET_MS:.0%} of it)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
