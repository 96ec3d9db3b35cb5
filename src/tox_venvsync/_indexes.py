"""Indexes: the package indexes a project's tool names (uv, Poetry, PDM), and the logins the environment gives them.

Each tool keeps its indexes in ``pyproject.toml`` and takes their logins from variables named after
them, so that no secret is written into the project:

- uv: ``[[tool.uv.index]]`` (and ``uv.toml``'s ``[[index]]``, ``name=url`` entries of ``UV_INDEX`` and
  ``UV_DEFAULT_INDEX``); the login of the index ``name`` comes from ``UV_INDEX_<NAME>_USERNAME`` and
  ``UV_INDEX_<NAME>_PASSWORD``, ``<NAME>`` being the name upper-cased with every other character than a
  letter or digit made ``_`` (uv's ``IndexName::to_env_var``).
- Poetry: ``[[tool.poetry.source]]``; ``POETRY_HTTP_BASIC_<NAME>_USERNAME`` and ``..._PASSWORD``, ``<NAME>``
  upper-cased with ``-`` and ``.`` made ``_`` (Poetry's variables for its ``http-basic.<name>`` setting).
- PDM: ``[[tool.pdm.source]]`` with ``username`` and ``password`` keys (else the login in its URL), ``${VAR}``
  in its URL taken from the environment and ``file:///${PROJECT_ROOT}`` as the project's directory; its ``pypi``
  source (``PDM_PYPI_URL``, ``PDM_PYPI_USERNAME``, ``PDM_PYPI_PASSWORD``); what PDM's configuration files
  (``pdm.toml``, the user's ``config.toml``) store under ``[pypi]`` and ``[pypi.<name>]`` fills in the rest. A
  ``pdm.lock`` names its files without URLs: PDM looks them up on these sources, and so does the fetcher.

Read only when a sync downloads something, and only the lock's directory's files, besides PDM's user
configuration file: never uv's or Poetry's configuration in the user's home.
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from tox_venvsync._errors import LockFileError
from tox_venvsync._lock._file import project_file
from tox_venvsync._values import frozen

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from packaging.utils import NormalizedName

#: a user name and a password (or token), sent as HTTP Basic authorization
Login = tuple[str, str]
#: ``${NAME}`` in a PDM source's settings, as PDM expands it
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: ``name=url`` in uv's index variables (a name is letters, digits, ``-``, ``_`` and ``.``)
_NAMED = re.compile(r"([A-Za-z0-9._-]+)=(\S+://\S+)")


@frozen
class IndexSource:
    """One index a file named without a URL may be on (a PDM source), and the packages it serves."""

    name: str
    url: str
    #: ``include_packages``: the packages (``fnmatch`` patterns) found only on the sources that include them
    include: tuple[str, ...] = ()
    #: ``exclude_packages``: never looked up here
    exclude: tuple[str, ...] = ()


@frozen
class ProjectIndexes:
    """The indexes the project's tool names for the lock, and their logins by index URL."""

    #: where a ``pdm.lock`` file without a URL is looked up, in order; empty: the configured index
    sources: tuple[IndexSource, ...] = ()
    logins: tuple[tuple[str, Login], ...] = ()
    #: the logins the configured index URLs carry (``UV_INDEX_URL=https://user:token@host/simple``), by URL: each
    #: is its host's, as a lock URL's login is (see ``_session.without_login``)
    url_logins: tuple[tuple[str, Login], ...] = ()
    #: how they are reached: the proxy and certificate variables of the sync's environment, where they are not this
    #: process's (a tox run's ``set_env``; see ``_session.network_of``), else ``None``
    network: tuple[tuple[str, str], ...] | None = None
    #: the variables a failure's advice names (a keyring provider, pip's certificate bundle) in the sync's
    #: environment, where they are not this process's (see ``_session.advice_of``), else ``None``
    advice: tuple[tuple[str, str], ...] | None = None
    #: the sync's environment, which the keyring command runs in, where it is not this process's (see
    #: ``_session.environ_of``), else ``None``
    environ: tuple[tuple[str, str], ...] | None = None

    def for_package(self, name: NormalizedName) -> tuple[str, ...]:
        """The index URLs to look ``name``'s files up on, in order, as PDM chooses them.

        The sources whose ``include_packages`` match the name, if any do; else every source that does not
        exclude it (PDM's ``filtered_sources``: a source with ``include_packages`` still serves other packages).
        """
        only = [source.url for source in self.sources if _matches(source.include, name)]
        return tuple(only) or tuple(source.url for source in self.sources if not _matches(source.exclude, name))


def _matches(patterns: tuple[str, ...], name: NormalizedName) -> bool:
    """Whether one of the ``fnmatch`` patterns, normalized as the name is, matches ``name``."""
    return any(fnmatch.fnmatchcase(name, canonicalize_name(pattern, validate=False)) for pattern in patterns)


def read_project_indexes(lock: Path, lock_format: str, environ: Mapping[str, str], default: str) -> ProjectIndexes:
    """The indexes and logins of the project whose lock is ``lock``; ``default``: the index otherwise configured.

    ``environ`` is where the logins and ``${VAR}`` are read from (a tox run's ``set_env`` included).
    """
    pyproject = project_file(lock, lock_format)  # a pdm lock elsewhere: its project's, above it
    document = _toml(pyproject)
    tool = _table(document.get("tool"))
    logins = [
        *_uv_logins(_table(tool.get("uv")), _toml(lock.parent / "uv.toml"), environ),
        *_poetry_logins(_table(tool.get("poetry")), environ),
    ]
    sources: tuple[IndexSource, ...] = ()
    if lock_format == "pdm" or "pdm" in tool:
        pdm = _pdm_sources(pyproject, _table(tool.get("pdm")), environ, default)
        logins += [(source.url, login) for source, login in pdm if login is not None]
        if lock_format == "pdm":
            sources = tuple(source for source, _ in pdm)
    from tox_venvsync._session import advice_of, environ_of, network_of  # noqa: PLC0415  # a sync that reads them asks

    return ProjectIndexes(
        sources=sources,
        logins=tuple(logins),
        url_logins=configured_logins(environ),
        network=network_of(environ),
        advice=advice_of(environ),
        environ=environ_of(environ),
    )


def _toml(path: Path) -> dict[str, Any]:
    """The file's TOML, or nothing when there is no such file; a file that does not parse is refused by its tool."""
    from tox_venvsync._lock._toml import load_toml  # noqa: PLC0415  # the lock readers' loader

    try:
        return load_toml(path)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        reason = f"it cannot be read for the project's package indexes ({exc.strerror or exc}); make it a readable file"
        raise LockFileError(path, reason) from exc
    except ValueError as exc:  # not UTF-8, not TOML, or nested too deeply: the parser's words
        raise LockFileError(path, f"it cannot be read for the project's package indexes ({exc}); fix the file") from exc


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tables(value: object) -> Iterator[dict[str, Any]]:
    yield from (item for item in value if isinstance(item, dict)) if isinstance(value, list) else ()


def _login(environ: Mapping[str, str], user_variable: str, password_variable: str) -> Login | None:
    user, password = environ.get(user_variable), environ.get(password_variable)
    return None if user is None and password is None else (user or "", password or "")


# --- uv -----------------------------------------------------------------------------------------------------------


def _uv_logins(uv: dict[str, Any], uv_toml: dict[str, Any], environ: Mapping[str, str]) -> Iterator[tuple[str, Login]]:
    named = [
        (str(index["name"]), str(index["url"]))
        for index in (*_tables(uv.get("index")), *_tables(uv_toml.get("index")))
        if isinstance(index.get("name"), str) and isinstance(index.get("url"), str)
    ]
    for variable in ("UV_INDEX", "UV_DEFAULT_INDEX"):
        matches = (_NAMED.fullmatch(entry) for entry in environ.get(variable, "").split())
        named += [(match[1], match[2]) for match in matches if match]
    for name, url in named:
        key = "".join(c.upper() if c.isascii() and c.isalnum() else "_" for c in name)
        if (login := _login(environ, f"UV_INDEX_{key}_USERNAME", f"UV_INDEX_{key}_PASSWORD")) is not None:
            yield url, login


def index_url(value: str) -> str:
    """An index variable's URL: uv's ``name=url`` form names the index too."""
    match = _NAMED.fullmatch(value.strip())
    return match.group(2) if match else value


# --- Poetry -------------------------------------------------------------------------------------------------------


def _poetry_logins(poetry: dict[str, Any], environ: Mapping[str, str]) -> Iterator[tuple[str, Login]]:
    for source in _tables(poetry.get("source")):
        name, url = source.get("name"), source.get("url")
        if isinstance(name, str) and isinstance(url, str):
            key = name.upper().replace("-", "_").replace(".", "_")
            login = _login(environ, f"POETRY_HTTP_BASIC_{key}_USERNAME", f"POETRY_HTTP_BASIC_{key}_PASSWORD")
            if login is not None:
                yield url, login


# --- PDM ----------------------------------------------------------------------------------------------------------


def _pdm_sources(
    pyproject: Path, pdm: dict[str, Any], environ: Mapping[str, str], default: str
) -> list[tuple[IndexSource, Login | None]]:
    """PDM's index sources and their logins, in order: its ``pypi`` source first unless the project names its own."""
    raw = pdm.get("source", [])
    if not isinstance(raw, list):
        raise LockFileError(pyproject, "it must be an array of tables ([[tool.pdm.source]])", context="tool.pdm.source")
    found: dict[str, tuple[IndexSource, Login | None]] = {}
    configs = _pdm_configs(pyproject, environ)
    settings = {k: v for config in reversed(configs) for k, v in config.items() if isinstance(v, str)}
    stored = _stored_sources(configs)
    pypi_login = _login(environ, "PDM_PYPI_USERNAME", "PDM_PYPI_PASSWORD")
    if pypi_login is None and ("username" in settings or "password" in settings):
        pypi_login = (settings.get("username", ""), settings.get("password", ""))
    pypi_url = environ.get("PDM_PYPI_URL") or settings.get("url")
    if not any(isinstance(entry, dict) and entry.get("name") == "pypi" for entry in raw):
        # without PDM_PYPI_URL, the index configured for every lock (PIP_INDEX_URL, ...; PyPI otherwise); PDM's
        # login for its pypi source goes only where PDM would send it
        own = pypi_url is not None or default.rstrip("/") == DEFAULT_INDEX.rstrip("/")
        found["pypi"] = (IndexSource(name="pypi", url=pypi_url or default), pypi_login if own else None)
    entries = [*raw, *(entry for name, entry in stored.items() if not any(_named(e, name) for e in raw))]
    for at, entry in enumerate(entries):
        context = f"tool.pdm.source[{at}]"
        if not isinstance(entry, dict):
            raise LockFileError(pyproject, "it must be a table with name and url", context=context)
        # what PDM's configuration files store for a source of that name fills in what the project leaves out
        entry = {**stored.get(str(entry.get("name")), {}), **entry}  # noqa: PLW2901
        if entry.get("url") is None or entry.get("url") == "":
            continue  # a source whose URL is kept elsewhere (another machine's configuration): PDM skips it too
        source, login = _pdm_source(pyproject, entry, context, environ)
        if source.name == "pypi" and login is None:
            login = pypi_login
        if entry.get("type", "index") == "index":
            found[source.name] = (source, login)
    return list(found.values())


def _named(entry: object, name: str) -> bool:
    return isinstance(entry, dict) and entry.get("name") == name


def _pdm_configs(pyproject: Path, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """The ``pypi`` tables of PDM's configuration files: the project's ``pdm.toml``, then the user's ``config.toml``.

    The user's is ``PDM_CONFIG_FILE``, else ``$XDG_CONFIG_HOME/pdm/config.toml`` (``~/.config``), where
    ``pdm config`` writes (PDM's ``platformdirs.user_config_path`` on Linux). A password PDM keeps in a keyring
    is not read.
    """
    user = environ.get("PDM_CONFIG_FILE")
    if not user:
        base = environ.get("XDG_CONFIG_HOME") or os.path.join(environ.get("HOME") or "~", ".config")  # noqa: PTH118
        user = os.path.join(base, "pdm", "config.toml")  # noqa: PTH118
    files = (pyproject.parent / "pdm.toml", Path(user).expanduser())
    return [_table(_toml(file).get("pypi")) for file in files]


def _stored_sources(configs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The sources PDM's configuration files define (``[pypi.<name>]``), by name; the project's file wins."""
    stored: dict[str, dict[str, Any]] = {}
    for config in reversed(configs):
        for name, table in config.items():
            if isinstance(table, dict):
                stored[name] = {**stored.get(name, {}), **table, "name": name}
    return stored


def _pdm_source(
    pyproject: Path, entry: dict[str, Any], context: str, environ: Mapping[str, str]
) -> tuple[IndexSource, Login | None]:
    def text(key: str) -> str:
        value = entry.get(key)
        if not isinstance(value, str) or not value:
            raise LockFileError(pyproject, f"{key} must be a non-empty string", context=f"{context}.{key}")
        return value

    def patterns(key: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise LockFileError(pyproject, f"{key} must be an array of strings", context=f"{context}.{key}")
        return tuple(value)

    user, password = (text(key) if key in entry else None for key in ("username", "password"))
    login = None if user is None and password is None else (user or "", password or "")
    include, exclude = patterns("include_packages"), patterns("exclude_packages")
    url = _expanded_url(text("url"), environ, pyproject.parent)
    # a login written into the URL goes with every file under the index too (a --static-urls lock's), as in PDM
    return IndexSource(name=text("name"), url=url, include=include, exclude=exclude), login or _url_login(url)


def _url_login(url: str) -> Login | None:
    """The login a URL carries (``https://user:token@host/``), unquoted; ``None`` without one (or an empty one)."""
    from urllib.parse import unquote, urlsplit  # noqa: PLC0415  # see _expanded_url

    userinfo, _, _ = urlsplit(url).netloc.rpartition("@")
    if not userinfo:  # https://@host/: what https://${TOKEN}@host/ is with the variable unset (see without_login)
        return None
    user, _, password = userinfo.partition(":")
    return unquote(user), unquote(password)


def _expanded_url(url: str, environ: Mapping[str, str], root: Path) -> str:
    """A PDM source's URL as PDM expands it: ``file:///${PROJECT_ROOT}`` and ``${VAR}`` from the environment.

    ``file:///${PROJECT_ROOT}`` is the project's directory (PDM's ``PDMBackend.expand_line``).
    In its user info the values are percent-encoded (as PDM's ``expand_env_vars_in_auth`` does), so that a
    password with ``/``, ``@`` or ``%`` stays the password. Its ``username`` and ``password`` keys are taken
    as written: PDM expands no variable there.
    """
    from urllib.parse import quote  # noqa: PLC0415  # a pdm project's sync that fetches only

    url = url.replace("file:///${PROJECT_ROOT}", root.absolute().as_uri())
    scheme, separator, rest = url.partition("://")
    if not separator:
        return _VARIABLE.sub(lambda match: environ.get(match[1], ""), url)
    netloc, slash, tail = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    userinfo = _VARIABLE.sub(lambda match: quote(environ.get(match[1], ""), safe=""), userinfo)
    tail = _VARIABLE.sub(lambda match: environ.get(match[1], ""), f"{host}{slash}{tail}")
    return f"{scheme}{separator}{userinfo}{at}{tail}"


# --- the indexes configured for every project: uv's and pip's variables, pip's files ------------------------------

#: where pip keeps its configuration (site-wide first; later files win), as pip documents it
_PIP_SITE_CONFIG: tuple[str, ...] = ("/etc/pip.conf", "/etc/xdg/pip/pip.conf")
_PIP_USER_CONFIG: tuple[str, ...] = ("~/.pip/pip.conf", "{XDG_CONFIG_HOME}/pip/pip.conf")


def _pip_user_config(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The user's pip files: the legacy one, then the one in ``$XDG_CONFIG_HOME`` (``~/.config``), as pip reads them."""
    home = environ.get("XDG_CONFIG_HOME") or "~/.config"
    return tuple(path.replace("{XDG_CONFIG_HOME}", home) for path in _PIP_USER_CONFIG)


DEFAULT_INDEX = "https://pypi.org/simple/"


def configured_index(environ: Mapping[str, str] | None = None) -> str:
    """The index the user configured: uv's or pip's variables, then pip's config files, then PyPI."""
    environ = os.environ if environ is None else environ
    for variable in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if value := environ.get(variable):
            return index_url(value) if variable.startswith("UV_") else value
    return _pip_config(environ, "index-url") or DEFAULT_INDEX


def configured_indexes(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Every index the user configured, in the order they are searched.

    uv's ``UV_INDEX`` first (uv prefers them to its default index), :func:`configured_index`, then the extra
    indexes of ``UV_EXTRA_INDEX_URL``, ``PIP_EXTRA_INDEX_URL`` and pip's files (``extra-index-url``); each
    variable holds URLs separated by spaces, ``UV_INDEX`` also ``name=url``.
    """
    environ = os.environ if environ is None else environ
    extras = [environ.get("UV_EXTRA_INDEX_URL", ""), environ.get("PIP_EXTRA_INDEX_URL", "")]
    extras.append(_pip_config(environ, "extra-index-url") or "")
    first = [url for url in map(index_url, environ.get("UV_INDEX", "").split()) if _is_url(url)]
    # an extra index that is no URL (a bare path) is passed over, as pip ignores it
    return tuple(dict.fromkeys([*first, configured_index(environ), *filter(_is_url, " ".join(extras).split())]))


def configured_logins(environ: Mapping[str, str]) -> tuple[tuple[str, Login], ...]:
    """The logins in the configured index URLs, each with its URL: every index variable's and pip's files'.

    Also a variable's that another one overrides as the index (``PIP_INDEX_URL`` under ``UV_INDEX_URL``): each is
    the login of its host, which uv and pip send to the index's files, also to the file URLs of a lock that carry
    none (a ``uv.lock``'s, a ``pylock.toml``'s), whose index is never asked.
    """
    named = [index_url(environ.get(variable, "")) for variable in ("UV_DEFAULT_INDEX", "UV_INDEX_URL")]
    urls = [*configured_indexes(environ), *named, environ.get("PIP_INDEX_URL", "")]
    return tuple((url, login) for url in dict.fromkeys(urls) if url and (login := _url_login(url)) is not None)


def _is_url(value: str) -> bool:
    return "://" in value or value.startswith("file:")


def _pip_config(environ: Mapping[str, str], key: str) -> str | None:
    """``key`` of pip's configuration files: a later file wins, and in each ``[install]`` before ``[global]``.

    As pip reads them: the site-wide files, the user's (unless ``PIP_CONFIG_FILE`` names a file that exists),
    then ``PIP_CONFIG_FILE``'s; none at all when it is ``os.devnull``.
    """
    given = environ.get("PIP_CONFIG_FILE")
    if given == os.devnull:
        return None
    user = () if given and Path(given).exists() else _pip_user_config(environ)
    files = [Path(f).expanduser() for f in (*_PIP_SITE_CONFIG, *user, *((given,) if given else ()))]
    found = None
    for file in files:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(file, encoding="utf-8")
        except (OSError, configparser.Error):
            continue
        for section in ("install", "global"):
            if parser.has_option(section, key):
                found = parser.get(section, key)
                break
    return found
