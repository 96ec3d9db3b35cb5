"""Mutated locks for the readers' fuzz tests: a real lock with one value deleted, retyped or replaced.

Every reader must answer any such document with its own one-sentence error or a selection, never a
traceback. Each format's test passes strings that look like what its locks hold (``tricky``) and the
keys of its tables, so that some mutations get past the type checks to the deeper ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

if TYPE_CHECKING:
    from collections.abc import Sequence


def values(tricky: Sequence[str], *, keys: Sequence[str] = ()) -> st.SearchStrategy[Any]:
    """Values of every type TOML has: scalars, ``tricky``, small arrays and tables (``None`` is not one)."""
    scalars = (
        st.booleans() | st.integers(-3, 2**40) | st.floats() | st.text(max_size=12) | st.sampled_from(list(tricky))
    )
    names = st.text(max_size=8)
    if keys:
        names |= st.sampled_from(list(keys))
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(names, children, max_size=3),
        max_leaves=6,
    )


def retyped(value: object) -> object:
    """``value`` as another type: a string's length, a table's values, a list as a table, anything else as text."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    return str(value)


def mutated(
    document: dict[str, Any], data: st.DataObject, replacements: st.SearchStrategy[Any], *, favour: str = ""
) -> dict[str, Any]:
    """A copy of ``document`` with one value deleted, retyped or replaced; only the containers on the way are copied.

    ``favour`` names the document's key where most of a lock is (its packages): the change is made below
    it about three times in four.
    """
    root = dict(document)
    node: dict[Any, Any] | list[Any] = root
    while keys := list(node) if isinstance(node, dict) else list(range(len(node))):
        if node is root and favour in root:
            keys += [favour] * 3 * len(keys)
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and data.draw(st.integers(0, 9)) < 8:
            node[key] = node = dict(child) if isinstance(child, dict) else list(child)
            continue
        action = data.draw(st.sampled_from(["delete", "retype", "replace"]))
        if action == "delete":
            del node[key]
        else:
            node[key] = retyped(child) if action == "retype" else data.draw(replacements)
        break
    return root
