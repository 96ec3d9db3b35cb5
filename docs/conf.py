"""Sphinx configuration for the tox-venvsync documentation.

Build with ``sphinx-build -W --keep-going -b html docs <output dir>`` (Sphinx and furo installed);
warnings are errors and every cross-reference must resolve (``nitpicky``).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

_INIT = Path(__file__).parents[1] / "src" / "tox_venvsync" / "__init__.py"
_VERSION = re.search(r'^__version__ = "([^"]+)"', _INIT.read_text(encoding="utf-8"), re.MULTILINE)

project = "tox-venvsync"
author = "tox-venvsync developers"
copyright = f"{datetime.now(tz=timezone.utc).year}, {author}"  # noqa: A001  # Sphinx's name
release = _VERSION.group(1) if _VERSION else "unknown"
version = release

extensions: list[str] = []  # nothing that needs the network: no intersphinx
nitpicky = True
exclude_patterns = ["_build"]
root_doc = "index"
default_role = "literal"
highlight_language = "text"
pygments_style = "sphinx"

html_theme = "furo"
html_title = f"tox-venvsync {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
