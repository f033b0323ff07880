"""Config errors a person can act on: the file and line, the key, what is expected, the nearest known key.

`settings.load_settings` hands a pydantic ValidationError here with what it merged (the raw data, which
layer set each key, where each source came from); `describe()` turns it into the message `curator`
prints. Values are never echoed: a bad value may be a secret.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

_ARRAY_HEAD = re.compile(r"^\[\[\s*([^\[\]]+?)\s*\]\]")
_TABLE_HEAD = re.compile(r"^\[\s*([^\[\]]+?)\s*\]")
_KEY = re.compile(r"^((?:[A-Za-z0-9_-]+|\"[^\"]*\")(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"))*)\s*=")


@dataclass(frozen=True)
class SourcePlace:
    """Where one `[[sources]]` entry was written: the file and its position among that file's entries."""

    path: Path
    index: int


def _parts(dotted: str) -> list[str]:
    return [p.strip().strip('"') for p in dotted.split(".")]


def find_line(path: Path, keys: list[str], array_index: int | None = None) -> int | None:
    """The 1-based line where `keys` (["llm", "model"]; ["sources", "kind"] with the entry's index in the
    file) is set; the table's header line when the key itself is not there; None when neither is."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    table: list[str] = []
    seen = -1
    header: int | None = None
    array = array_index is not None
    for no, raw in enumerate(lines, 1):
        s = raw.strip()
        if m := _ARRAY_HEAD.match(s):
            table = _parts(m.group(1))
            if array and table == keys[:1]:
                seen += 1
                header = no if seen == array_index else header
            continue
        if m := _TABLE_HEAD.match(s):
            table = _parts(m.group(1))
            if not array and table == keys[:len(table)] and header is None:
                header = no
            continue
        if (m := _KEY.match(s)) is None:
            continue
        full = table + _parts(m.group(1))
        if array and (table != keys[:1] or seen != array_index):
            continue
        if full == keys:
            return no
    return header


def _fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The known keys of the table at `loc` (the place an unknown key was found)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        current = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if current is None:
            return []
    return sorted(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else []


def _name(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """`sources[hn].kind` for a source (its name, not its index), `llm.model` for the rest."""
    out: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int) and i == 1 and loc[0] == "sources":
            entries = data.get("sources") or []
            entry = entries[part] if part < len(entries) and isinstance(entries[part], dict) else {}
            name = entry.get("name")
            out[-1] = f"sources[{name}]" if isinstance(name, str) and name else f"sources[{part + 1}]"
        elif isinstance(part, int):
            out[-1] += f"[{part}]"
        else:
            out.append(str(part))
    return ".".join(out)


def _origin(loc: tuple[Any, ...], origins: dict[str, str]) -> str | None:
    keys = [str(p) for p in loc if not isinstance(p, int)]
    for n in range(len(keys), 0, -1):
        if found := origins.get(".".join(keys[:n])):
            return found
    prefix = ".".join(keys) + "."
    return next((o for k, o in sorted(origins.items()) if k.startswith(prefix)), None)  # an unknown [table]


def where(loc: tuple[Any, ...], origins: dict[str, str], home: Path, places: list[SourcePlace]) -> str:
    """`config/curator.toml line 3` / `env:CURATOR_LLM__MODEL` / `defaults`."""
    keys = [str(p) for p in loc if not isinstance(p, int)]
    if loc[:1] == ("sources",) and len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(places):
        place = places[loc[1]]
        line = find_line(place.path, keys[:2] if len(keys) > 1 else keys, place.index)
        return _rel(place.path, home) + (f" line {line}" if line else "")
    origin = _origin(loc, origins)
    if origin is None:
        return "defaults"
    if not origin.startswith("file:"):
        return origin
    rel = origin.removeprefix("file:")
    path = Path(rel) if Path(rel).is_absolute() else home / rel
    line = find_line(path, keys)
    return rel + (f" line {line}" if line else "")


def _rel(path: Path, home: Path) -> str:
    try:
        return str(path.resolve().relative_to(home))
    except ValueError:
        return str(path)


def _hint(loc: tuple[Any, ...], err: Any, model: type[BaseModel]) -> str:
    kind = err["type"]
    key = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        known = _fields(model, loc[:-1])
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        in_list = any(isinstance(p, int) for p in loc)  # inside a [[sources]] entry: the bare key reads best
        table = "" if in_list else ".".join(str(p) for p in loc[:-1])
        suggestion = f"{table}.{close[0]}" if table and close else (close[0] if close else "")
        return "unknown key" + (f"; did you mean `{suggestion}`?" if suggestion else
                                f"; known keys here: {', '.join(known)}" if known else "")
    if kind == "missing":
        return "required key missing"
    msg = str(err["msg"])
    if loc[-2:] == ("llm", "provider") and kind == "literal_error":
        msg += ' (a provider name such as "deepseek" is a preset: set `llm.preset = "deepseek"` and leave ' \
               '`llm.provider` as "auto")'
    return f"expected: {msg[0].lower() + msg[1:]}" if msg else "invalid"


def unknown_kind(kind: str, kinds: Collection[str]) -> str:
    close = difflib.get_close_matches(kind, sorted(kinds), n=1)
    return (f"unknown kind '{kind}'" + (f"; did you mean `{close[0]}`?" if close else "")
            + "; known kinds: " + ", ".join(sorted(kinds)))


def describe(exc: ValidationError, *, model: type[BaseModel], data: dict[str, Any], origins: dict[str, str],
             home: Path, places: list[SourcePlace], kinds: Collection[str] | None = None) -> str:
    """Every bad key, where it was set (file and line, or the variable), what is expected; never its value.
    With `kinds`, an unknown source kind is named in the same message (not in a second round)."""
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = tuple(err["loc"])
        lines.append(f"  {_name(loc, data)} ({where(loc, origins, home, places)}): {_hint(loc, err, model)}")
    entries = data.get("sources") if isinstance(data.get("sources"), list) else []
    for i, entry in enumerate(entries or []):
        kind = entry.get("kind", "rss") if isinstance(entry, dict) else None
        if kinds is not None and isinstance(kind, str) and kind not in kinds:
            loc = ("sources", i, "kind")
            lines.append(f"  {_name(loc, data)} ({where(loc, origins, home, places)}): {unknown_kind(kind, kinds)}")
    return "invalid configuration:\n" + "\n".join(lines) + "\nFix these keys and run again."


def bad_source_url(url: str) -> str | None:
    """What makes a configured source URL unusable, found before any network I/O (never echoing it: it may
    carry a password or a token)."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch.isspace() for ch in url):
        return "contains a space or a control character; percent-encode it"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port out of range or not a number)
    except ValueError:
        return "cannot be parsed as a URL"
    if not parts.hostname:
        return "has no host"
    return None
