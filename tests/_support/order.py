"""Watching the order in which a sync asks the interpreter for its facts and reads the lock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tox_venvsync import _lock, _target

if TYPE_CHECKING:
    from pytest_mock import MockerFixture


def watch_query_and_lock(mocker: MockerFixture) -> list[str]:
    """A list that collects ``ask`` and ``answered`` around each interpreter query and ``read`` at each lock read."""
    events: list[str] = []
    read_lock, query = _lock.read_lock, _target.query_interpreter

    def reading(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401  # read_lock's own
        events.append("read")
        return read_lock(*args, **kwargs)

    def asking(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401  # query_interpreter's own
        events.append("ask")
        try:
            return query(*args, **kwargs)
        finally:
            events.append("answered")

    mocker.patch.object(_lock, "read_lock", reading)
    mocker.patch.object(_target, "query_interpreter", asking)
    return events
