"""One error tree for curator; foreign exceptions are translated at stage boundaries.

    CuratorError                    base; carries context (url, stage, call id) and a stable `reason`
    ├── ConfigError                 bad config / flags; CLI exit 78 before any network I/O
    ├── UsageError                  bad input typed by a person (a URL to add); CLI exit 2, nothing stored
    ├── StoreError                  database unusable (corrupt, locked, disk full); run-level
    ├── LockHeld                    another run holds the run lock; CLI exit 75
    ├── Interrupted                 SIGTERM / run deadline: work stopped cleanly, items wait; exit 143
    ├── SourceError                 a source could not be read (feed unparsable, API shape wrong)
    ├── FetchError                  one HTTP fetch failed (reason: timeout, dns, http_404, too_large …)
    │   └── BlockedAddress          URL or redirect points at a forbidden scheme / address
    ├── ExtractionError             no usable article text (reason: too_short, not_html …)
    ├── LLMError                    an enrichment call failed (reason: llm_invalid, llm_length …)
    │   ├── LLMUnavailable          the endpoint refuses or is unreachable (key, model, quota, base_url,
    │   │                           breaker open): run-level, items wait at `extracted`; exit 69
    │   └── BudgetExceeded          the run / issue budget is spent; items wait for the next run
    └── ComposeError                a draft could not be written

`reason` is the short machine key that becomes `failed:<reason>` / `skipped:<reason>` on an item and
a counter in the run summary; `str(err)` is the human sentence that says what happened and what to do.
Messages never carry secret values (API keys, credentials in URLs).
"""

from __future__ import annotations

from urllib.parse import urlsplit

_SHOWN_SCHEMES = ("http", "https")


class CuratorError(Exception):
    """Base of every error curator raises on purpose."""

    reason: str = "error"
    exit_code: int = 1

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        url: str | None = None,
        stage: str | None = None,
        call_id: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason
        self.url = url
        self.stage = stage
        self.call_id = call_id
        self.retryable = retryable

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only context survives pickling (errors raised in parser worker processes).
        return (_rebuild, (type(self), super().__str__(), self.__dict__))

    def __str__(self) -> str:
        msg = super().__str__()
        # The URL as shown: no credentials, no query string (a final URL after redirects can carry a token).
        url = shown_url(self.url) if self.url else None
        ctx = [f"{k}={v}" for k, v in (("stage", self.stage), ("url", url), ("call", self.call_id)) if v]
        return f"{msg} [{', '.join(ctx)}]" if ctx else msg


def shown_url(url: str) -> str:
    """Best-effort scheme://host/path of any string, dropping userinfo, query and fragment (the form a URL
    takes in an error message or a log line; the fetcher's and netguard's messages use it too)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparsable url>"
    if not parts.scheme:
        return "<relative url>"
    if parts.scheme.lower() not in _SHOWN_SCHEMES:
        return f"{parts.scheme.lower()}:…"  # javascript:/data: payloads are not worth echoing
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}{port}{parts.path}"


def _rebuild(cls: type[CuratorError], message: str, state: dict[str, object]) -> CuratorError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ConfigError(CuratorError):
    reason = "config"
    exit_code = 78  # EX_CONFIG


class UsageError(CuratorError):
    reason = "usage"
    exit_code = 2  # like a bad command-line argument


class StoreError(CuratorError):
    reason = "store"
    exit_code = 74  # EX_IOERR


class LockHeld(CuratorError):
    reason = "locked"
    exit_code = 75  # EX_TEMPFAIL


class Interrupted(CuratorError):
    reason = "interrupted"
    exit_code = 143  # 128 + SIGTERM


class SourceError(CuratorError):
    reason = "source"


class FetchError(CuratorError):
    reason = "fetch"


class BlockedAddress(FetchError):
    reason = "blocked_address"


class ExtractionError(CuratorError):
    reason = "extract"


class LLMError(CuratorError):
    reason = "llm"


class LLMUnavailable(LLMError):
    """The LLM endpoint cannot serve this run (rejected key, unknown model, quota spent, unreachable, or
    the breaker opened): no item is to blame, so none is marked failed; the run ends and they wait."""

    reason = "llm_unavailable"
    exit_code = 69  # EX_UNAVAILABLE
    run: object = None  # the RunSummary of the run it ended (set by the pipeline), for the CLI to print


class BudgetExceeded(LLMError):
    reason = "budget"


class ComposeError(CuratorError):
    reason = "compose"
