"""Value classes behave as frozen, keyword-only, slotted dataclasses, and defining one compiles nothing."""

from __future__ import annotations

import builtins
import copy
import dataclasses
import importlib
import pickle
import pkgutil
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tox_venvsync
from tox_venvsync import _values
from tox_venvsync._values import FrozenInstanceError, frozen

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


def _point(decorate: Callable[[type], type]) -> Any:  # noqa: ANN401  # either kind of class
    class Point:
        """A point with a label."""

        x: int
        y: int
        label: str | None = None
        tags: tuple[str, ...] = ()

        @property
        def norm(self) -> int:
            """A property survives the decoration."""
            return abs(self.x) + abs(self.y)

        def moved(self, by: int) -> int:
            """So does a method."""
            return self.x + by

        @classmethod
        def origin(cls) -> Any:  # noqa: ANN401  # either kind of class
            """And a class method building an instance."""
            return cls(x=0, y=0)  # type: ignore[call-arg]  # the fields come with the decorator

    return decorate(Point)


OURS = _point(frozen)
THEIRS = _point(dataclasses.dataclass(frozen=True, kw_only=True, slots=True))


def _positional(decorate: Callable[[type], type]) -> Any:  # noqa: ANN401  # either kind of class
    class Root:
        path: str
        depth: int = 0

    return decorate(Root)


OURS_POSITIONAL = _positional(frozen(kw_only=False))
THEIRS_POSITIONAL = _positional(dataclasses.dataclass(frozen=True, slots=True))


@frozen
class Stored:
    """A value class pickle can find by name."""

    path: str
    depth: int = 0
    names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class StoredDataclass:
    """The same as a dataclass."""

    path: str
    depth: int = 0
    names: tuple[str, ...] = ()


def _outcome(build: Callable[[Any], Any], cls: type) -> object:
    """``build(cls)``, or the kind of error it raised (``TypeError``, ``AttributeError``)."""
    try:
        return build(cls)
    except Exception as exc:  # noqa: BLE001  # the kind of failure is what is compared
        return TypeError if isinstance(exc, TypeError) else AttributeError if isinstance(exc, AttributeError) else exc


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda cls: repr(cls(x=1, y=2)), id="repr-defaults"),
        pytest.param(lambda cls: repr(cls(x=1, y=2, label="a", tags=("t",))), id="repr-all"),
        pytest.param(lambda cls: cls(x=1, y=2) == cls(x=1, y=2), id="equal"),
        pytest.param(lambda cls: cls(x=1, y=2) == cls(x=1, y=3), id="not-equal"),
        pytest.param(lambda cls: cls(x=1, y=2) == (1, 2, None, ()), id="not-a-tuple"),
        pytest.param(lambda cls: hash(cls(x=1, y=2)) == hash(cls(x=1, y=2)), id="hash"),
        pytest.param(lambda cls: cls(x=3, y=-4).norm, id="property"),
        pytest.param(lambda cls: cls(x=3, y=4).moved(1), id="method"),
        pytest.param(lambda cls: repr(cls.origin()), id="classmethod"),
        pytest.param(lambda cls: cls.__doc__, id="docstring"),
        pytest.param(lambda cls: cls.__slots__, id="slots"),
        pytest.param(lambda cls: hasattr(cls(x=1, y=2), "__dict__"), id="no-dict"),
        pytest.param(lambda cls: cls.__match_args__, id="match-args"),
        pytest.param(lambda cls: cls(1, 2), id="positional-refused"),
        pytest.param(lambda cls: cls(x=1), id="missing-field"),
        pytest.param(lambda cls: cls(x=1, y=2, z=3), id="unknown-field"),
        pytest.param(lambda cls: setattr(cls(x=1, y=2), "x", 5), id="assign-refused"),
        pytest.param(lambda cls: delattr(cls(x=1, y=2), "x"), id="delete-refused"),
        pytest.param(lambda cls: hash(cls(x=1, y=2, tags=[1])), id="unhashable-field"),
    ],
)
def test_a_value_class_behaves_as_the_frozen_keyword_only_slotted_dataclass(build: Callable[[Any], Any]) -> None:
    assert _outcome(build, OURS) == _outcome(build, THEIRS)


@pytest.mark.parametrize(
    "duplicate",
    [copy.copy, copy.deepcopy, lambda item: pickle.loads(pickle.dumps(item))],  # noqa: S301  # our own bytes
)
def test_a_value_copies_and_pickles_as_a_dataclass(duplicate: Callable[[Any], Any]) -> None:
    ours, theirs = Stored(path="/p", depth=2, names=("a",)), StoredDataclass(path="/p", depth=2, names=("a",))
    copied = duplicate(ours)
    assert copied == ours
    assert type(copied) is Stored
    assert repr(copied).replace("Stored", "") == repr(duplicate(theirs)).replace("StoredDataclass", "")


def test_assigning_raises_frozen_instance_error_an_attribute_error() -> None:
    point = OURS(x=1, y=2)
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'x'"):
        point.x = 3
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'other'"):
        point.other = 3  # the dataclass raises TypeError here (its __setattr__ names the class before slots)
    assert issubclass(FrozenInstanceError, AttributeError)
    assert point.x == 1


@given(
    st.tuples(st.integers(), st.integers(), st.none() | st.text(max_size=3)),
    st.tuples(st.integers(), st.integers(), st.none() | st.text(max_size=3)),
)
def test_equality_and_hash_follow_the_fields_as_a_dataclass_does(
    first: tuple[Any, ...], second: tuple[Any, ...]
) -> None:
    def make(cls: Any, values: tuple[Any, ...]) -> Any:  # noqa: ANN401  # either kind of class
        return cls(x=values[0], y=values[1], label=values[2])

    ours = make(OURS, first) == make(OURS, second)
    assert ours == (make(THEIRS, first) == make(THEIRS, second))
    if ours:
        assert hash(make(OURS, first)) == hash(make(OURS, second))


def test_replace_copies_with_changes_as_dataclasses_replace() -> None:
    point = OURS(x=1, y=2, tags=("a",))
    moved = _values.replace(point, y=5)
    assert repr(moved) == repr(dataclasses.replace(THEIRS(x=1, y=2, tags=("a",)), y=5)).replace(
        THEIRS.__qualname__, OURS.__qualname__
    )
    assert point.y == 2
    with pytest.raises(TypeError, match="has no field z"):
        _values.replace(point, z=1)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        pytest.param(("/p",), {}, id="positional"),
        pytest.param(("/p", 2), {}, id="all-positional"),
        pytest.param((), {"path": "/p", "depth": 3}, id="keywords"),
        pytest.param(("/p",), {"depth": 3}, id="mixed"),
        pytest.param(("/p", 2, 3), {}, id="too-many"),
        pytest.param(("/p",), {"path": "/q"}, id="twice"),
        pytest.param((), {}, id="missing"),
    ],
)
def test_kw_only_false_takes_positional_arguments_as_the_dataclass(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    def build(cls: Any) -> object:  # noqa: ANN401  # either kind of class
        made = cls(*args, **kwargs)
        return made.path, made.depth, made.__match_args__

    assert _outcome(build, OURS_POSITIONAL) == _outcome(build, THEIRS_POSITIONAL)


def test_defining_a_value_class_compiles_no_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the module: no ``exec``/``compile`` per class (dataclasses compile six methods)."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("compiled code")  # noqa: EM101, TRY003  # the test's own failure

    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(builtins, "compile", refuse)
    with pytest.raises(AssertionError, match="compiled code"):
        _point(dataclasses.dataclass(frozen=True, kw_only=True, slots=True))
    point = _point(frozen)(x=1, y=2)
    assert (point.x, point.y, point.label) == (1, 2, None)


def test_what_a_value_class_does_not_support_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot inherit"):

        @frozen
        class Labelled(OURS):  # type: ignore[valid-type, misc]  # what is refused
            label2: str

    with pytest.raises(TypeError, match="ClassVar"):

        @frozen
        class Counted:
            count: ClassVar[int] = 0


@pytest.mark.parametrize("default", [[], {}, set()], ids=["list", "dict", "set"])
def test_a_mutable_default_is_refused_as_by_the_dataclass(default: object) -> None:
    def define(decorate: Callable[[type], type]) -> type:
        class Shared:
            items: object = default

        return decorate(Shared)

    with pytest.raises(ValueError, match="mutable default"):
        define(dataclasses.dataclass(frozen=True, kw_only=True, slots=True))
    with pytest.raises(ValueError, match="mutable default"):
        define(frozen)


def test_a_read_only_mapping_default_is_allowed_on_every_python() -> None:
    """A ``MappingProxyType`` default (``Target.venv_scheme``) is read-only.

    Before Python 3.12 it has no hash, yet no instance can change it; refusing it broke every import on 3.10 and 3.11.
    """

    @frozen
    class Scheme:
        paths: Mapping[str, str] = MappingProxyType({})

    assert Scheme().paths == {}


def test_the_engine_defines_no_dataclass() -> None:
    """Every value class of the engine is a :func:`frozen` one: a dataclass costs a tox run about 1.5 ms to define."""
    found = []
    for module_info in pkgutil.walk_packages(tox_venvsync.__path__, prefix="tox_venvsync."):
        module = importlib.import_module(module_info.name)
        found += [
            f"{module.__name__}.{name}"
            for name, item in vars(module).items()
            if isinstance(item, type) and item.__module__ == module.__name__ and dataclasses.is_dataclass(item)
        ]
    assert found == []
    assert hasattr(importlib.import_module("tox_venvsync._lock._model").Pick, "_value_fields")
