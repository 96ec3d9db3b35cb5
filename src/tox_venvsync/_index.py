"""Index: find a locked file's URL on a simple repository (PEP 503 HTML or PEP 691 JSON) when the lock has none."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlparse

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from tox_venvsync import __version__
from tox_venvsync._errors import BadUrlError, FetchError, NoFittingFileError, NotListedError
from tox_venvsync._http import _HOPS, check_transport, retried, timeout, transient_failure, transient_status
from tox_venvsync._lock._model import Artifact, choose_file
from tox_venvsync._session import answered, network_reason, open_url, through_proxy
from tox_venvsync._values import frozen
from tox_venvsync._verify import file_digests

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tox_venvsync._lock._model import IndexPin


_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"


@frozen
class IndexFile:
    """One file on a project page: its URL and the hashes the page gives in the link's fragment."""

    url: str
    hashes: Mapping[str, str]


class IndexClient:
    """Reads project pages of simple indexes, once per project per run, from any thread."""

    def __init__(self) -> None:
        self._pages: dict[str, dict[str, IndexFile]] = {}
        self._lock = threading.Lock()

    def locate(
        self, indexes: str | Sequence[str], name: str, filename: str, hashes: Mapping[str, str] | None = None
    ) -> str:
        """The URL of ``filename`` on the first of ``indexes`` whose page for ``name`` lists it (:meth:`candidates`)."""
        return self.candidates((indexes,) if isinstance(indexes, str) else indexes, name, filename, hashes or {})[0]

    def candidates(self, indexes: Sequence[str], name: str, filename: str, hashes: Mapping[str, str]) -> list[str]:
        """Every URL of ``filename`` the pages of ``indexes`` for ``name`` give, best first; FetchError if none does.

        First the links whose digest is the lock's ``hashes``, then those whose page gives no digest, then those
        with another (to fail with the mismatch), each group in the order of ``indexes``. Of several indexes (a
        PDM project's sources, extra indexes), a file of the same name that another index publishes to stand in
        for a private one is passed over when its page gives its digest; when it gives none, its download fails
        the hash check and the fetch moves on to the next URL.
        """

        def rank(file: IndexFile) -> int:
            common = [algorithm for algorithm in file.hashes if algorithm in hashes]
            if not common:
                return 1
            return 0 if all(hashes[a].lower() == file.hashes[a] for a in common) else 2

        found: list[IndexFile] = []
        failed: list[FetchError] = []
        for index in indexes:  # in order, until one lists the lock's file: a later one is not asked
            try:
                file = self.files(index, name).get(filename)
            except FetchError as exc:  # one index refusing (a login, a network) is not the end, as with pip
                failed.append(exc)
                continue
            if file is not None:
                found.append(file)
                if rank(file) == 0:
                    break
        if failed and not any(rank(file) == 0 for file in found):
            raise failed[0]  # the index that refused may be the one with the lock's file: say so, not a stand-in's hash
        if not found:
            pages = " or ".join(_page_url(index, name) for index in indexes)
            reason = (
                f"{filename} is not on the index page {pages}; check the index the lock names, or the one configured "
                "(UV_INDEX_URL, PIP_INDEX_URL) where it names none"
            )
            raise NotListedError(name, ", ".join(indexes), reason)
        return list(dict.fromkeys(file.url for file in sorted(found, key=rank)))

    def files(self, index: str, name: str) -> dict[str, IndexFile]:
        """Every file on the project's page by file name."""
        return self._read(_page_url(index, name), name)

    def links(self, page: str, name: str) -> dict[str, IndexFile]:
        """Every file a ``--find-links`` page links to, by file name (read for ``name``, named in errors)."""
        return self._read(page, name)

    def _read(self, url: str, name: str) -> dict[str, IndexFile]:
        with self._lock:
            if url in self._pages:
                return self._pages[url]
        page = _read_page(url, name)
        with self._lock:
            self._pages[url] = page
        return page


#: what an index answers for a project it does not have
_NO_SUCH_PROJECT = frozenset({404, 410})


def _page_url(index: str, name: str) -> str:
    return urljoin(index.rstrip("/") + "/", f"{canonicalize_name(name)}/")


def _read_page(url: str, name: str) -> dict[str, IndexFile]:
    if url.startswith("file:"):
        return _read_local_page(url, name)
    check_transport(name, url)
    try:
        request = urllib.request.Request(url, headers={"Accept": _ACCEPT, "User-Agent": f"tox-venvsync/{__version__}"})  # noqa: S310
    except ValueError as exc:  # a path, or no URL at all
        reason = f"the index URL is not valid ({exc}); give an https, http or file URL"
        raise BadUrlError(name, url, reason) from exc
    got = retried(lambda: _get_page(request, name, url))
    if got is None:
        return {}  # the index has no such project: pip and uv go on to the next index, so does find_pinned
    body, kind, base = got
    if kind.endswith("json"):
        return _from_json(body, base, name, url)
    return _from_html(body.decode("utf-8", "replace"), base)


def _get_page(request: urllib.request.Request, name: str, url: str) -> tuple[bytes, str, str] | None:
    """A project page's body, content type and final URL; ``None`` when the index has no such project."""
    # asked again as it is (see retried): the redirects of an earlier attempt are not where this one failed
    vars(request).pop(_HOPS, None)
    try:
        with open_url(request, timeout=timeout()) as response:
            body = _page_body(response, name, url)
            coding = response.headers.get("Content-Encoding", "")
            kind, base = response.headers.get_content_type(), response.geturl()
    except urllib.error.HTTPError as exc:
        with exc:  # close the error's connection
            if exc.code in _NO_SUCH_PROJECT:
                return None
            reason = through_proxy(answered(exc, "index", request), url)
            raise FetchError(name, url, reason, transient=transient_status(exc.code)) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # a page cut short is IncompleteRead
        reason = through_proxy(network_reason(exc, request), url, exc)
        raise FetchError(name, url, reason, transient=transient_failure(exc)) from exc
    return _decoded(body, coding, name, url), kind, base


def _page_body(response: http.client.HTTPResponse, name: str, url: str) -> bytes:
    """The page's body, refused once it is longer than :data:`PAGE_LIMIT`: a page that does not end is cut there."""
    declared = response.headers.get("Content-Length", "")
    declared = declared if declared.isascii() else ""  # "²" is a digit to isdigit, and no number to int()
    if declared.isdigit() and int(declared) <= PAGE_LIMIT:
        return response.read()  # whole, or IncompleteRead when cut short
    body = b"" if declared.isdigit() else response.read(PAGE_LIMIT + 1)
    if declared.isdigit() or len(body) > PAGE_LIMIT:
        raise FetchError(name, url, _too_large())
    return body


#: the most bytes a project page may take, as sent and decoded: PyPI's largest (tf-nightly's, botocore's) take
#: tens of MiB; a page that does not end, or a small gzip one that inflates to gigabytes, would take the memory
PAGE_LIMIT = 512 << 20


def _too_large() -> str:
    return f"the index page is larger than {PAGE_LIMIT / 2**20:g} MiB, which no project page needs; check the index"


def _decoded(body: bytes, coding: str, name: str, url: str) -> bytes:
    """A page's body without its ``Content-Encoding``: gzip or deflate, as pip and uv read them.

    None is asked for, but servers and proxies send pages compressed anyway (a static mirror of ``.gz`` files, a
    CDN): read as they came, such a page listed no file, and the failure blamed the lock or the index setting.
    """
    coding = coding.strip().lower()
    if coding in {"", "identity"}:
        return body
    if coding not in {"gzip", "x-gzip", "deflate"}:
        reason = (
            f"the index sent the page encoded as {coding!r}, which is not read (gzip and deflate are); check the index"
        )
        raise FetchError(name, url, reason)
    import zlib  # noqa: PLC0415  # a compressed page only

    # 47: a gzip or zlib header, found by zlib; -15: the raw deflate stream some servers send as "deflate"
    for window in (47, -15):
        with contextlib.suppress(zlib.error):
            inflate = zlib.decompressobj(wbits=window)
            page = inflate.decompress(body, PAGE_LIMIT + 1)  # a gzip bomb stops here, not at the memory's end
            if len(page) > PAGE_LIMIT:
                raise FetchError(name, url, _too_large())
            if inflate.eof:
                return page
    raise FetchError(name, url, f"the index page's {coding} encoding does not decode; try again", transient=True)


def _read_local_page(url: str, name: str) -> dict[str, IndexFile]:
    """A ``file:`` index's project page: a directory's ``index.html``, as pip reads one; none there, no such project."""
    path = Path(unquote(urlparse(url).path))
    page = path / "index.html" if url.endswith("/") or path.is_dir() else path
    try:
        text = page.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise FetchError(name, url, f"the index page {page} cannot be read ({exc.strerror})") from exc
    return _from_html(text, page.as_uri())


def _from_json(body: bytes, base: str, name: str, url: str) -> dict[str, IndexFile]:
    try:
        files = json.loads(body)["files"]
        return {
            str(f["filename"]): IndexFile(
                url=urljoin(base, str(f["url"])).split("#", 1)[0],
                hashes={str(k): str(v).lower() for k, v in dict(f.get("hashes") or {}).items()},
            )
            for f in files
        }
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:  # nested too deeply: Recursion
        raise FetchError(name, url, "the index page is not valid PEP 691 JSON") from exc


def _from_html(text: str, base: str) -> dict[str, IndexFile]:
    links = _Links()
    links.feed(text)
    found: dict[str, IndexFile] = {}
    for href in links.hrefs:
        absolute, _, fragment = urljoin(base, href).partition("#")
        algorithm, _, digest = fragment.partition("=")
        hashes = {algorithm.lower(): digest.lower()} if digest else {}
        found[unquote(urlparse(absolute).path.rsplit("/", 1)[-1])] = IndexFile(url=absolute, hashes=hashes)
    return found


def find_pinned(  # noqa: PLR0913  # what to find and where, keyword-only
    client: IndexClient,
    *,
    name: str,
    version: str,
    pin: IndexPin,
    ranks: Mapping[str, int],
    default_indexes: Sequence[str],
) -> Artifact:
    """The file a requirements pin means: the best-fitting wheel (else the sdist) whose hash is allowed.

    Looked for on the indexes and in every ``--find-links`` location, as pip looks: the file's
    ``--index-url`` in place of ``default_indexes`` (the configured ones), its ``--extra-index-url``
    besides, none with ``--no-index``. The candidates are the files whose hash is known to be allowed (an
    index page's, as PyPI and every PEP 503 index worth the name give them, a find-links page's, or a local
    file's own) and, as pip and uv take them, those a page links to without a hash (a plain directory listing,
    PyTorch's find-links pages): such a file, when chosen, comes back with no ``hashes``, for the caller to
    download and check against the pin before it is used (:func:`tox_venvsync._fetch.store_pinned`). Of equally
    fitting files, one whose allowed hash the page gives goes first.
    """
    indexes = () if pin.no_index else (*((pin.index,) if pin.index else default_indexes), *pin.extra_indexes)
    indexes = tuple(dict.fromkeys(indexes))
    if not indexes and not pin.find_links:
        raise FetchError(name, "--no-index", "the requirements file allows no index and gives no --find-links")
    candidates, seen, failed = _indexed(client, indexes, name, version, pin)
    for location in pin.find_links:
        candidates.extend(_linked(client, location, name, version, pin))
    candidates.sort(key=lambda candidate: not candidate.hashes)  # stable: the known ones first among equals
    chosen = choose_file(candidates, ranks, pin.formats)
    if chosen is None and failed and not seen:
        raise failed[0]  # an index that refused may hold it; when another listed the release, its hashes tell
    if chosen is None:
        where = ", ".join((*indexes, *pin.find_links))
        if candidates:  # wheels for another interpreter, or files --no-binary or --only-binary leave out
            raise NoFittingFileError(name, where, _none_fits(f"{name}=={version}", candidates, ranks, pin.formats))
        raise NotListedError(name, where, _not_found(name, version, seen, find_links=bool(pin.find_links)))
    return chosen


def _none_fits(release: str, candidates: Sequence[Artifact], ranks: Mapping[str, int], formats: frozenset[str]) -> str:
    """Why no file of a pin fits: the files there are, the interpreter's best tag, and what to do."""
    allowed = "" if any(not candidate.hashes for candidate in candidates) else " with an allowed hash"
    files = ", ".join(sorted({candidate.filename for candidate in candidates}))
    if "source" not in formats and any(not c.filename.endswith(".whl") for c in candidates):
        return (
            f"no wheel of {release}{allowed} fits this interpreter and the file's --only-binary leaves out its sdist; "
            f"there are {files}: take the package out of --only-binary, or compile the requirements again for this "
            "interpreter's Python and platform"
        )
    if "binary" not in formats:
        return (
            f"the file's --no-binary leaves out the wheels of {release} and it has no sdist{allowed}; there are "
            f"{files}: take the package out of --no-binary, or compile the requirements again with its sdist"
        )
    best = min(ranks, key=ranks.__getitem__, default="none")
    return (
        f"no file of {release}{allowed} fits this interpreter (its first wheel tag is {best}); there are {files}: "
        "compile the requirements again for this interpreter's Python and platform, or use a Python they fit"
    )


def _not_found(name: str, version: str, seen: Mapping[str, int], *, find_links: bool) -> str:
    """Why no file of a pin was found, from what the indexes listed of the release (none of it allowed)."""
    release = f"{name}=={version}"
    if not seen and not find_links:
        return f"no index lists {release}; check the file's --index-url and --extra-index-url, or the configured index"
    if seen.get("other"):
        return (
            f"the index lists {seen['other']} file(s) of {release}, none with a hash the file's --hash allows (the "
            "index holds other files than the lock was made from, or a hash was mistyped); compile the file again"
        )
    return f"no file of {release} with an allowed hash is found"


def _indexed(
    client: IndexClient, indexes: Sequence[str], name: str, version: str, pin: IndexPin
) -> tuple[list[Artifact], dict[str, int], list[FetchError]]:
    """The allowed files of ``name==version`` the indexes list, how many of the release's they list, who failed.

    The count is by kind: ``allowed``, ``other`` (another hash) and ``hashless`` (the link gives none the pin
    uses: a candidate, see :func:`find_pinned`). One index refusing (a login, the network) is not the end while
    another has the file, as with pip.
    """
    candidates: list[Artifact] = []
    seen: dict[str, int] = {}
    failed: list[FetchError] = []
    for index in indexes:
        try:
            files = client.files(index, name)
        except FetchError as exc:
            failed.append(exc)
            continue
        for filename, file in files.items():
            if _is_release(filename, name, version):
                kind = "allowed" if _allowed(file.hashes, pin) else "other" if _comparable(file, pin) else "hashless"
                seen[kind] = seen.get(kind, 0) + 1
                if kind != "other":
                    candidates.append(_artifact(filename, file, pin))
    return candidates, seen, failed


def _linked(client: IndexClient, location: str, name: str, version: str, pin: IndexPin) -> list[Artifact]:
    """The allowed files of ``name==version`` a ``--find-links`` location offers: a directory, or a page of links."""
    parsed = urlparse(location)
    if parsed.scheme in {"http", "https"}:
        files = client.links(location, name)
        return [
            _artifact(filename, file, pin)
            for filename, file in files.items()
            if _is_release(filename, name, version) and (_allowed(file.hashes, pin) or not _comparable(file, pin))
        ]
    directory = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(location)
    try:
        entries = sorted(os.listdir(directory))
    except OSError as exc:
        reason = f"{exc.strerror}; --find-links takes a directory of wheels and sdists, or an http(s) page of links"
        raise FetchError(name, location, reason) from exc
    found = []
    for entry in entries:
        path = directory / entry
        if _is_release(entry, name, version) and path.is_file():
            digests = file_digests(path, pin.hashes)  # --hash may name one hashlib lacks, which pip refuses
            if allowed := {alg: digest for alg, digest in digests.items() if digest in pin.hashes[alg]}:
                found.append(Artifact(filename=entry, url=None, path=path, size=None, hashes=allowed))
    return found


def _is_release(filename: str, name: str, version: str) -> bool:
    try:
        if filename.endswith(".whl"):
            found_name, found_version, *_ = parse_wheel_filename(filename)
        else:
            found_name, found_version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return False
    return found_name == canonicalize_name(name) and found_version == Version(version)


def _allowed(hashes: Mapping[str, str], pin: IndexPin) -> bool:
    return any(digest in pin.hashes.get(alg, ()) for alg, digest in hashes.items())


def _comparable(file: IndexFile, pin: IndexPin) -> bool:
    """Whether the link gives a digest of an algorithm the pin names (an md5 alone, or none, tells nothing)."""
    return any(algorithm in pin.hashes for algorithm in file.hashes)


def _artifact(filename: str, file: IndexFile, pin: IndexPin) -> Artifact:
    """The file as a candidate: with its allowed hashes, or none (a link without a hash the pin uses)."""
    hashes = {alg: d for alg, d in file.hashes.items() if d in pin.hashes.get(alg, ())}
    return Artifact(filename=filename, url=file.url, path=None, size=None, hashes=hashes)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for key, value in attrs if key == "href" and value)
