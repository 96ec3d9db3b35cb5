"""Complete: a lock made for one Python must pin what its packages need on this one, as pip's hash mode requires.

pip installs a hashed requirements file in hash-checking mode, where every dependency of every package must be
in the file (``Hashes are required in --require-hashes mode, but they are missing from some requirements``) in a
version the package accepts: a file compiled on Python 3.12 lacks ``exceptiongroup``, which pytest needs below
3.11, and pip refuses it there. Synced as it is, the environment lacked it and the first test run failed with
``No module named 'exceptiongroup'``. The other formats record each package's dependencies and are whole for the
Pythons they were locked for (their ``requires-python`` says which), but a ``pylock.toml`` that names neither
``requires-python`` nor ``environments`` (what ``pip lock`` writes: a lock of the Python it ran on) is checked the
same way, and each package's ``Requires-Python`` with it.

Checked once every file is fetched and built, before anything in the venv changes, on syncs that change
something: a package that stays was checked when it came, but is read again (a lock edited since may have dropped
what it needs). A dependency is met by any distribution the venv keeps, as pip counts what is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from tox_venvsync._apply import excludes
from tox_venvsync._errors import BadInputError, SelectionError
from tox_venvsync._plan import Action

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from collections.abc import Set as AbstractSet
    from email.message import Message
    from pathlib import Path

    from tox_venvsync._plan import Plan, Step
    from tox_venvsync._target import Target


#: what pip-compile leaves out of its files unless ``--allow-unsafe`` (its "unsafe" packages, a venv's seed): a file
#: without them is whole to pip where the venv has them, so their absence is not held against it
_LEFT_OUT = frozenset({"pip", "setuptools", "distribute"})


def check_complete(  # noqa: PLR0913  # what is checked, then how (keyword-only)
    lock: Path,
    target: Target,
    plan: Plan,
    wheels: Mapping[str, Path],
    *,
    lock_format: str = "requirements",
    not_followed: AbstractSet[str] = frozenset(),
) -> None:
    """Stop, naming ``lock``, when a package the venv will hold needs one it will not hold, or another version of it.

    The packages the lock selects are checked (and what they need, with the extras a requirement names, as pip
    follows ``foo[bar]``); a distribution kept though the lock does not name it meets a need but is not checked,
    and a need of pip or setuptools that nothing meets is passed over (see :data:`_LEFT_OUT`).
    ``wheels``: the file each step that installs is installed from (its ``METADATA`` is read there); the others
    are read in the venv. ``lock_format``: ``requirements``, or ``pylock`` for a lock of one Python, whose packages'
    ``Requires-Python`` is checked too (a requirements pin's is checked where it is installed). ``not_followed``:
    the names whose needs are not followed (the project under ``--frozen``, whose lock is taken as it is).
    """
    refusal = _Refusal(lock, target, lock_format)
    held = {step.name: step.version for step in plan.steps if step.action is not Action.REMOVE}
    # kept though the lock does not name it (a seed package, deps, --inexact): not the lock's to meet
    metadata = {
        step.name: (step, headers)
        for step in plan.steps
        if step.action is not Action.REMOVE and step.wanted is not None
        if (headers := _metadata(step, wheels)) is not None
    }
    if lock_format == "pylock":
        _check_python(refusal, target, metadata.values())
    requires = {
        name: requires_dist(
            headers,
            f"{name} {step.version} declares a dependency that cannot be read ({{exc}}); use another version of it",
        )
        for name, (step, headers) in metadata.items()
        if name not in not_followed
    }
    # a line's extras (``celery[redis]==5.4``) are followed as a requirement's are: pip installs what they need
    named = {step.name: step.wanted.pick.extras for step in plan.steps if step.wanted is not None}
    wanted: list[tuple[NormalizedName, frozenset[str]]] = [(name, named.get(name, frozenset())) for name in requires]
    seen = set(wanted)
    while wanted:
        name, extras = wanted.pop()
        for requirement in requires.get(name, ()):
            if not applies(requirement, target, extras):
                continue
            needed = canonicalize_name(requirement.name)
            if needed not in held and needed in _LEFT_OUT:
                continue
            if needed not in held:
                missing = f"{name} {held[name]} needs {_spelled(requirement)}, which the lock does not pin"
                refusal.refuse("is not complete for", missing, requirement)
            have = held[needed]
            if have is not None and not requirement.specifier.contains(have, prereleases=True):
                other = f"{name} {held[name]} needs {_spelled(requirement)}, and the lock pins {needed} {have}"
                refusal.refuse("does not agree with itself on", other, requirement)
            if requirement.extras and (needed, frozenset(requirement.extras)) not in seen:
                seen.add((needed, frozenset(requirement.extras)))
                wanted.append((needed, frozenset(requirement.extras)))


def _check_python(refusal: _Refusal, target: Target, metadata: Iterable[tuple[Step, Message]]) -> None:
    """Stop when a package that comes (``metadata``: its step and ``METADATA``) requires another Python."""
    for step, headers in metadata:
        if step.action is not Action.KEEP and excludes(python := headers.get("Requires-Python"), target):
            refusal.refuse("does not fit", f"it pins {step.name} {step.version}, which requires Python {python}")


def applies(requirement: Requirement, target: Target, extras: frozenset[str]) -> bool:
    """Whether ``requirement``'s marker holds for ``target`` without an extra or with one of ``extras``."""
    marker = requirement.marker
    return marker is None or any(marker.evaluate({**target.markers, "extra": e}) for e in ("", *extras))


def _spelled(requirement: Requirement) -> str:
    """``needed>=1 (where python_version < "3.11")``: the requirement, and its marker apart."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    where = f" (where {requirement.marker})" if requirement.marker is not None else ""
    return f"{requirement.name}{extras}{requirement.specifier}{where}"


#: the marker variables that tell one platform from another (the rest tell Pythons apart)
_PLATFORM_MARKERS = ("sys_platform", "platform_system", "platform_machine", "platform_release", "os_name")


def _platform(requirement: Requirement | None) -> bool:
    """Whether ``requirement``'s marker asks for a platform: a file compiled on another one lacks or pins it."""
    marker = str(requirement.marker or "") if requirement is not None else ""
    return any(variable in marker for variable in _PLATFORM_MARKERS)


class _Refusal:
    """The sentence that stops a sync on a lock that is not whole for the interpreter, and what to do, by format."""

    def __init__(self, lock: Path, target: Target, lock_format: str) -> None:
        self._lock, self._target, self._format = lock, target, lock_format

    def refuse(self, problem: str, detail: str, requirement: Requirement | None = None) -> NoReturn:
        """Stop: the lock ``problem`` (``is not complete for``) the interpreter: ``detail``, for ``requirement``."""
        python = f"Python {self._target.python_full_version}"
        if _platform(requirement):  # a file compiled on another platform: compiling again on this Python is not all
            python += f" on {self._target.markers['sys_platform']} ({self._target.markers['platform_machine']})"
        if self._format == "pylock":
            remedy = (
                "it names no requires-python or environments, so it is a lock of the one Python it was made on "
                f"(pip lock makes such a lock): lock it again on {python}, or lock for every Python "
                "(uv pip compile --universal --format pylock.toml, uv export --format pylock.toml)"
            )
        else:
            this = "this Python and platform" if _platform(requirement) else "this Python"
            remedy = (
                f"compile it again for {this} (uv pip compile --universal --generate-hashes, or pip-compile "
                f"--generate-hashes run on {python}), as pip refuses it in hash-checking mode"
            )
        raise SelectionError(self._lock, f"the lock {problem} {python}: {detail}; {remedy}")


def _metadata(step: Step, wheels: Mapping[str, Path]) -> Message | None:
    """The ``METADATA`` headers of what ``step`` leaves in the venv: the wheel it installs, or the installed one."""
    from email.parser import HeaderParser  # noqa: PLC0415  # a sync with work to do

    if step.action is not Action.KEEP:
        wheel = wheels.get(step.name)
        return _wheel_metadata(wheel) if wheel is not None else None
    if not step.old:
        return None
    try:
        text = (step.old[0].dist_info / "METADATA").read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None  # a distribution without metadata declares nothing (verify reports what is wrong with it)
    return HeaderParser().parsestr(text, headersonly=True)


def _wheel_metadata(wheel: Path) -> Message | None:
    import zipfile  # noqa: PLC0415  # a sync with work to do

    try:
        return wheel_metadata(wheel, errors="surrogateescape")
    except (OSError, zipfile.BadZipFile):
        return None  # refused by the install, which says why


def wheel_metadata(wheel: Path, *, errors: str = "strict") -> Message | None:
    """The headers of a wheel's ``<name>.dist-info/METADATA``, ``None`` without one (read as UTF-8 with ``errors``).

    Raises what reading the archive raises (``OSError``, ``zipfile.BadZipFile``, ``UnicodeDecodeError``).
    """
    import zipfile  # noqa: PLC0415  # a sync with work to do
    from email.parser import HeaderParser  # noqa: PLC0415

    with zipfile.ZipFile(wheel) as archive:
        name = next((n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None)
        if name is None:
            return None
        try:
            text = archive.read(name).decode("utf-8", errors)
        except (RuntimeError, NotImplementedError) as exc:  # encrypted, or a compression method zipfile lacks
            msg = f"{name} cannot be read ({exc})"
            raise zipfile.BadZipFile(msg) from exc
    return HeaderParser().parsestr(text, headersonly=True)


def requires_dist(metadata: Message, unreadable: str) -> list[Requirement]:
    """The ``Requires-Dist`` of ``metadata``; one that does not parse stops with ``unreadable`` (``{exc}``: why)."""
    try:
        return [Requirement(line) for line in metadata.get_all("Requires-Dist") or []]
    except InvalidRequirement as exc:
        raise BadInputError(unreadable.replace("{exc}", str(exc))) from exc
