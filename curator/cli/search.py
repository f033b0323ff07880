"""`curator search QUERY`: everything collected and published, ranked, with "already ran in #N"."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from curator.cli.workspace import HomeOpt, JsonOpt, cli_errors, workspace
from curator.errors import ConfigError
from curator.states import ItemState

if TYPE_CHECKING:
    from curator.models.search import SearchHit

DATE_FORMATS = ["%Y-%m-%d"]


def hit_json(hit: SearchHit, words: list[str]) -> dict[str, Any]:
    from curator.search import snippet

    cut = snippet(hit.texts, words)
    return {**hit.model_dump(mode="json"), "snippet": {"text": cut.text, "marks": [list(m) for m in cut.marks]}}


def _marked(hit: SearchHit, words: list[str], colour: bool) -> str:
    from curator.search import snippet

    # On a terminal the matches are bold; piped, they are «marked», so the match still shows in a file.
    return "".join(typer.style(p, bold=True, underline=True) if m and colour else f"«{p}»" if m else p
                   for p, m in snippet(hit.texts, words).parts())


def _print_hits(hits: list[SearchHit], words: list[str], query: str) -> None:
    if not hits:
        typer.echo(f"no item matches {query!r} (with these filters)")
        return
    colour = sys.stdout.isatty()
    for n, hit in enumerate(hits, 1):
        ran = f"  ★ already ran in #{hit.ran_in.number}" + (f" ({hit.ran_in.date})" if hit.ran_in.date else "") \
            if hit.ran_in else ""
        typer.echo(f"{n:>2}. {hit.title or hit.url}{ran}")
        when = hit.date.date().isoformat() if hit.date else "undated"
        facts = [", ".join(hit.sources) or ("no source" if hit.id is not None else "archive"), when, hit.state.value]
        facts += [f"section {hit.section}"] if hit.section else []
        where = f"item {hit.id}" if hit.id is not None else "a past issue's link (archive)"
        typer.echo(f"    {' · '.join(facts)} · {where}")
        typer.echo(f"    {hit.url}")
        if text := _marked(hit, words, colour):
            typer.echo(f"    {text}")
    typer.echo(f"{len(hits)} match{'es' if len(hits) != 1 else ''}, best first")


def search(
    query: Annotated[str, typer.Argument(help='Words to find (all must match); "a phrase", -word to exclude, a OR b.')],
    home: HomeOpt = None,
    state: Annotated[list[ItemState] | None, typer.Option("--state", help="Only items in this state (repeatable).")] = None,
    section: Annotated[str | None, typer.Option(help="Only items of this section (enriched, drafted or published in).")] = None,
    source: Annotated[str | None, typer.Option(help="Only items this source found (its name in sources.toml).")] = None,
    since: Annotated[datetime | None, typer.Option(formats=DATE_FORMATS, help="Dated on or after this day (2026-11-01).")] = None,
    until: Annotated[datetime | None, typer.Option(formats=DATE_FORMATS, help="Dated on or before this day.")] = None,
    published: Annotated[bool | None, typer.Option("--published/--unpublished",
                                                   help="Only items that already ran in an issue / never ran.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many hits.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Search everything collected and published: title, summary, article text, source, tags.

    Chinese is cut into words (jieba), so 大模型 finds 大模型推理; English is matched without case. Each hit
    shows where it stands and, when it was published, the issue it already ran in.
    """
    from curator.models.search import SearchFilters
    from curator.search import parse_query
    from curator.store import Store

    if since and until and since > until:
        raise typer.BadParameter(f"--since {since.date()} is after --until {until.date()}", param_hint="--since")
    with cli_errors():
        parsed = parse_query(query)
    filters = SearchFilters(states=state, section=section, source=source, since=since.date() if since else None,
                            until=until.date() if until else None, published=published, limit=limit)
    with workspace(home, store=False) as ws:  # no run lock: searching reads while a run is going
        if not ws.settings.store.url and not ws.settings.db_path.exists():  # a search never makes an empty store where there was none
            raise ConfigError(f"nothing collected yet: no store at {ws.settings.db_path}. Run `curator collect` "
                              "in this workspace first, or point at yours with --home PATH.")
        with Store(ws.settings.store_target) as store:
            hits = store.search(parsed, filters)
    words = parsed.words()
    if as_json:
        typer.echo(json.dumps({"query": query, "count": len(hits), "hits": [hit_json(h, words) for h in hits]},
                              ensure_ascii=False, indent=2))
        return
    _print_hits(hits, words, query)
