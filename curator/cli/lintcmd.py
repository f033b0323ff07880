"""`curator lint FILE`: the draft's findings as text, GitHub workflow annotations or JSON; `--fix` mends links."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from curator.cli.workspace import HomeOpt, JsonOpt, workspace
from curator.errors import UsageError

if TYPE_CHECKING:
    from curator.findings import Finding
    from curator.settings import Settings


class Format(str, Enum):
    text = "text"
    github = "github"


RulesOpt = Annotated[list[str] | None, typer.Option(metavar="RULE[,RULE]", help="Rule names (repeat or comma-separate).")]


def _rules(select: list[str] | None, ignore: list[str] | None) -> set[str] | None:
    """The rule ids to run: --select (default all) minus --ignore; an unknown name is a usage error."""
    from curator.lint import RULES

    known = [*RULES, "broken_link"]

    def names(values: list[str] | None) -> set[str]:
        out = {n.strip() for v in values or [] for n in v.split(",") if n.strip()}
        if unknown := sorted(out - set(known)):
            raise UsageError(f"unknown lint rule {', '.join(unknown)}; known rules: {', '.join(known)}")
        return out

    chosen, dropped = names(select), names(ignore)
    if not chosen and not dropped:
        return None
    return (chosen or set(known)) - dropped


def lint_findings(settings: Settings, file: Path, text: str, window_days: int | None = None, *,
                  check_links: bool = False, rules: set[str] | None = None) -> list[Finding]:
    """The draft's findings, ordered by line (the network only with `check_links`)."""
    from curator.lint import lint_markdown, review_links

    days = window_days or settings.publication.window_days
    start = _front_matter_date(text)
    findings = lint_markdown(
        text, language=settings.publication.language,
        window_start=(start - timedelta(days=days)) if start else None,
        max_per_domain=settings.drafts.max_per_domain, allowed_links=review_links(file),
        rules=None if rules is None else rules - {"broken_link"},
        allow_http_hosts=settings.lint.allow_http_hosts,
    )
    if check_links and (rules is None or "broken_link" in rules):
        from curator.linkcheck import check_links as check

        findings = sorted([*findings, *check(text, settings.fetch)], key=lambda f: f.line)
    return findings


def lint_json(file: Path, findings: list[Finding]) -> dict[str, Any]:
    errors = sum(f.severity == "error" for f in findings)
    return {"file": str(file), "errors": errors, "warnings": len(findings) - errors,
            "findings": [{"line": f.line, "rule": f.rule, "severity": f.severity, "message": f.message}
                         for f in findings]}


def print_findings(file: Path, findings: list[Finding], fmt: Format = Format.text) -> None:
    from curator.findings import format_findings

    if findings:
        typer.echo(format_findings(findings, str(file), fmt.value))
    errors = sum(f.severity == "error" for f in findings)
    summary = f"lint: {errors} errors, {len(findings) - errors} warnings"
    typer.echo(f"::notice::{summary}" if fmt is Format.github else summary)


def read_draft(file: Path) -> str | None:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"curator: error: cannot read {file}: {exc.strerror}", err=True)
        return None


def lint_file(settings: Settings, file: Path, window_days: int | None = None, *,
              check_links: bool = False) -> list[Finding] | None:
    """Lint a draft and print the findings; None when the file cannot be read."""
    text = read_draft(file)
    if text is None:
        return None
    findings = lint_findings(settings, file, text, window_days, check_links=check_links)
    print_findings(file, findings)
    return findings


def lint(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A draft to check.")],
    home: HomeOpt = None,
    window_days: Annotated[int | None, typer.Option(min=0, max=36_500, help="Flag items older than this many days.")] = None,
    check_links: Annotated[bool, typer.Option("--check-links", help="Also fetch every link (network).")] = False,
    fmt: Annotated[Format, typer.Option("--format", help="text (file:line: [rule] severity: …) or github "
                                        "(workflow annotations on the pull request).")] = Format.text,
    select: RulesOpt = None,
    ignore: RulesOpt = None,
    fix: Annotated[bool, typer.Option("--fix", help="Mend the mechanical findings in the file: remove tracking "
                                      "parameters; http→https where the https page answers (network).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Report problems in a draft with line numbers and each rule's severity; exits 1 when any error is found."""
    with workspace(home, store=False) as ws:
        rules = _rules(select, ignore)
        text = read_draft(file)
        if text is None:
            raise typer.Exit(1)
        if fix:
            text = _fix(ws.settings, file, text, rules, quiet=as_json)
        findings = lint_findings(ws.settings, file, text, window_days, check_links=check_links, rules=rules)
    if as_json:
        typer.echo(json.dumps(lint_json(file, findings), ensure_ascii=False, indent=2))
    else:
        print_findings(file, findings, fmt)
    raise typer.Exit(1 if any(f.severity == "error" for f in findings) else 0)


def _fix(settings: Settings, file: Path, text: str, rules: set[str] | None, *, quiet: bool) -> str:
    from curator.lint_fix import FIXABLE, https_probe, plan

    wanted = [r for r in FIXABLE if rules is None or r in rules]
    fixed = plan(text, rules=wanted, allow_http_hosts=settings.lint.allow_http_hosts,
                 https_answers=https_probe(settings.fetch))
    if fixed.changes:
        file.write_text(fixed.text, encoding="utf-8")
    if not quiet:
        for no, rule, old, new in fixed.changes:
            typer.echo(f"{file}:{no}: [{rule}] fixed: {old} → {new}")
    return fixed.text


def _front_matter_date(text: str) -> date | None:
    m = re.search(r"^date:\s*(\d{4}-\d{2}-\d{2})", text, re.MULTILINE)
    return date.fromisoformat(m.group(1)) if m else None
