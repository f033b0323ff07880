"""`curator config show`: every effective setting, where it came from, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from curator.cli.workspace import HomeOpt, JsonOpt, workspace

if TYPE_CHECKING:
    from curator.settings import Settings

app = typer.Typer(help="The effective configuration: what each setting is and which layer set it.",
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None)

MASK = "****** (set)"


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, entry in enumerate(value):  # sources and sections by their name / id, not an index
            label = entry.get("name") or entry.get("id") or str(i)
            _flatten(f"{prefix}[{label}]", entry, out)
    else:
        out[prefix] = value


def _origin(key: str, origins: dict[str, str], home: Path) -> str:
    """The layer that set `key`; for a file, with the line (`file:config/curator.toml:12`)."""
    from curator.config_errors import find_line

    if "[" in key:  # an entry of sources / sections: the file that holds the list
        return origins.get(key.split("[", 1)[0], "default")
    found = origins.get(key, "default")
    if found.startswith("file:") and (line := find_line(home / found.removeprefix("file:"), key.split("."))):
        return f"{found}:{line}"
    return found


def effective(settings: Settings) -> list[tuple[str, Any, str]]:
    """(key, value, origin) for every setting; the API key shows as set/unset, URL secrets are redacted."""
    from curator.urls import redact

    data = settings.model_dump(mode="json", exclude={"home", "origins"})
    llm = data.get("llm", {})
    llm["api_key"] = MASK if settings.llm.api_key is not None else None
    flat: dict[str, Any] = {}
    _flatten("", data, flat)
    rows = []
    for key, value in flat.items():
        if isinstance(value, str) and "://" in value:
            value = redact(value)  # a source, base or broker URL may carry a token or password
        rows.append((key, value, _origin(key, settings.origins, settings.home)))
    return rows


@app.command("show")
def show(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Print every effective setting and the layer it came from (default, file, env, flag, preset)."""
    with workspace(home, store=False) as ws:
        rows = effective(ws.settings)
    if as_json:
        typer.echo(json.dumps({k: {"value": v, "origin": o} for k, v, o in rows}, ensure_ascii=False, indent=2))
        return
    width = max(len(k) for k, _, _ in rows)
    for key, value, origin in rows:
        shown = json.dumps(value, ensure_ascii=False)
        typer.echo(f"{key:<{width}}  {shown}  ({origin})")
