"""The location a file-backed store is given: a filesystem path, never a URL.

``FileStore`` and ``SQLiteStore`` take paths; URLs (``file:///srv/data``, ``sqlite:///app.db``)
are for :func:`nstore.open`. A URL given to a constructor is refused with a message that says
what to write instead, rather than being taken as a relative path such as ``./file:/srv/data``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from nstore.errors import ConfigurationError

__all__ = ["refuse_url"]

# "scheme://..." of any scheme, or one of nstore's own schemes with a single colon ("file:x").
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|(?:file|sqlite|memory|redis|rediss|http|https):", re.I)


def refuse_url(text: str, store: str) -> None:
    """Raise :class:`ConfigurationError` if ``text`` is a URL rather than a path for ``store``."""
    if _URL.match(text) is None:
        return
    parts = urlsplit(text)
    hint = f"nstore.open({text!r}), which also reads options from the query"
    if parts.scheme.lower() == "memory" or "mode=memory" in parts.query:
        hint = "MemoryStore() for a store in memory, or " + hint
    elif parts.scheme.lower() in ("file", "sqlite") and parts.netloc in ("", "localhost") and parts.path:
        hint = f"{store}({unquote(parts.path)!r}) with the path alone, or " + hint
    raise ConfigurationError(
        f"Expected a filesystem path for {store}. Got the URL {text!r} instead; write {hint}."
    )
