"""Value classes: frozen, keyword-only, slotted, like ``@dataclass(frozen=True, kw_only=True, slots=True)``.

Why not :func:`dataclasses.dataclass` itself: it writes each class's ``__init__``, ``__eq__``,
``__hash__``, ``__repr__``, ``__setattr__`` and ``__delattr__`` as source text and compiles them,
about 1.5 ms per class on the machines we measure (more with many fields). The engine has about
forty such classes; a tox run that syncs a bumped lock defined 25 of them, 25 to 40 ms of its
time, more than its whole lock read (bench/README.md). :func:`frozen` gives the same behaviour
from shared methods that read the class's field list, so defining a class costs about 0.07 ms;
building an instance (3.3 to 3.7 µs for five fields) costs about what a dataclass's generated
``__init__`` does (3.2 µs).

What it keeps from the dataclass: fields from the class annotations in order, defaults,
keyword-only construction (positional with ``kw_only=False``), ``TypeError`` for a missing or
unknown field, equality and hashing by the fields' values within one class, the dataclass's
``repr``, ``__slots__`` (no instance ``__dict__``), :class:`FrozenInstanceError` on
assignment or deletion, and :mod:`copy` and :mod:`pickle`. Type checkers see a dataclass
(:pep:`681`). Not supported, and not used here: ``field()``, ``ClassVar`` fields, inheritance
between value classes, ``order``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from collections.abc import Callable

    from typing_extensions import dataclass_transform
else:  # the decorator only informs type checkers

    def dataclass_transform(**_: object) -> Callable[[_T], _T]:
        return lambda decorated: decorated


def _mutable(default: object) -> bool:
    return type(default).__hash__ is None and not isinstance(default, MappingProxyType)


_T = TypeVar("_T")
_C = TypeVar("_C", bound=type)
#: a field without a default
_REQUIRED: Any = object()
#: what a value class keeps about its fields, in order: ``(name, default or _REQUIRED, the slot's setter)``
_SPEC = "_value_fields"


class FrozenInstanceError(AttributeError):
    """A field of a value was assigned or deleted (as :class:`dataclasses.FrozenInstanceError`)."""


@overload
def frozen(cls: _C, /) -> _C: ...
@overload
def frozen(*, kw_only: bool = True) -> Callable[[_C], _C]: ...
@dataclass_transform(kw_only_default=True, frozen_default=True, eq_default=True)
def frozen(cls: _C | None = None, /, *, kw_only: bool = True) -> _C | Callable[[_C], _C]:
    """Make ``cls`` a frozen value class with a slot per annotated field (``@frozen`` or ``@frozen(kw_only=False)``)."""

    def make(cls: _C) -> _C:
        annotations: dict[str, object] = cls.__annotations__  # strings: every module here defers annotations
        names = tuple(annotations)
        if any("ClassVar" in str(annotation) for annotation in annotations.values()):
            msg = f"{cls.__qualname__}: a value class cannot have ClassVar fields"
            raise TypeError(msg)
        if any(name in vars(base) for base in cls.__mro__[1:-1] for name in (_SPEC, "__slots__")):
            msg = f"{cls.__qualname__}: a value class cannot inherit from another class with fields or slots"
            raise TypeError(msg)
        for name in names:  # as the dataclass: a default every instance would share and could change is refused
            # a read-only mapping view is no such default, though it has no hash before Python 3.12
            if name in vars(cls) and _mutable(vars(cls)[name]):
                msg = f"{cls.__qualname__}.{name}: mutable default {type(vars(cls)[name]).__name__} is not allowed"
                raise ValueError(msg)
        namespace = {key: item for key, item in vars(cls).items() if key not in {*names, "__dict__", "__weakref__"}}
        namespace.update(
            {
                "__slots__": names,
                "__match_args__": () if kw_only else names,
                "__init__": _init if kw_only else _init_positional,
                "__eq__": _eq,
                "__hash__": _hash,
                "__repr__": _repr,
                "__setattr__": _refuse,
                "__delattr__": _refuse,
                "__reduce__": _reduce,
            }
        )
        made: _C = type(cls)(cls.__name__, cls.__bases__, namespace)
        made.__qualname__ = cls.__qualname__
        # each slot's own setter: faster than object.__setattr__, which looks the slot up by name first
        spec = tuple((name, vars(cls).get(name, _REQUIRED), vars(made)[name].__set__) for name in names)
        setattr(made, _SPEC, spec)
        return made

    return make if cls is None else make(cls)


def replace(instance: _T, /, **changes: Any) -> _T:  # noqa: ANN401  # any field's value
    """A copy of ``instance`` with ``changes``, as :func:`dataclasses.replace`."""
    fields = {name: getattr(instance, name) for name, _, _ in getattr(type(instance), _SPEC)}
    unknown = changes.keys() - fields.keys()
    if unknown:
        msg = f"{type(instance).__name__} has no field {', '.join(sorted(unknown))}"
        raise TypeError(msg)
    return type(instance)(**{**fields, **changes})


def _init(self: Any, **given: Any) -> None:  # noqa: ANN401  # any field's value
    for name, default, setter in getattr(type(self), _SPEC):
        item = given.pop(name, default)
        if item is _REQUIRED:
            msg = f"{type(self).__name__}() missing keyword argument {name!r}"
            raise TypeError(msg)
        setter(self, item)
    if given:
        msg = f"{type(self).__name__}() got unexpected keyword arguments {', '.join(map(repr, given))}"
        raise TypeError(msg)


def _init_positional(self: Any, *args: Any, **given: Any) -> None:  # noqa: ANN401  # any field's value
    names = [name for name, _, _ in getattr(type(self), _SPEC)]
    if len(args) > len(names):
        msg = f"{type(self).__name__}() takes {len(names)} arguments, {len(args)} given"
        raise TypeError(msg)
    for name, item in zip(names, args, strict=False):  # fewer arguments than fields: the rest by keyword
        if name in given:
            msg = f"{type(self).__name__}() got multiple values for {name!r}"
            raise TypeError(msg)
        given[name] = item
    _init(self, **given)


def _fields(instance: object) -> tuple[object, ...]:
    return tuple([getattr(instance, name) for name, _, _ in getattr(type(instance), _SPEC)])


def _eq(self: object, other: object) -> bool:
    if type(other) is not type(self):
        return NotImplemented  # type: ignore[no-any-return]  # typeshed types NotImplemented as Any
    return _fields(self) == _fields(other)


def _hash(self: object) -> int:
    return hash(_fields(self))


def _repr(self: object) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name, _, _ in getattr(type(self), _SPEC))
    return f"{type(self).__qualname__}({shown})"


def _reduce(self: object) -> tuple[Callable[[type, tuple[object, ...]], object], tuple[type, tuple[object, ...]]]:
    """For :mod:`copy` and :mod:`pickle`: the default would restore the fields by assigning them."""
    return _restore, (type(self), _fields(self))


def _restore(cls: type, values: tuple[object, ...]) -> object:
    made: object = object.__new__(cls)
    for (_, _, setter), item in zip(getattr(cls, _SPEC), values, strict=True):
        setter(made, item)
    return made


def _refuse(_self: object, name: str, *_: object) -> None:
    msg = f"cannot assign to field {name!r}"
    raise FrozenInstanceError(msg)
