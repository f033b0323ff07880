"""Settings of `[notify]`: the webhooks to tell, which events, and when a source or the budget is worth a message.

    [[notify.webhooks]]
    kind = "feishu"                 # slack | feishu | dingtalk | wecom | telegram | json
    url_env = "FEISHU_WEBHOOK_URL"  # the NAME of the environment variable holding the URL (a secret)
    secret_env = "FEISHU_SECRET"    # feishu / dingtalk signed webhooks; json: an HMAC header
    events = ["draft_ready", "run_failed"]   # default: every event

A webhook URL carries its credential (Slack's path, DingTalk's access_token), so it is read only from the
environment: a `url` written in a config file is refused with the file and line. `bind_env` (called by
`settings.load_settings`, the one place that sees the environment) resolves the names into SecretStr values
that are never dumped, printed or stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError

HookKind = Literal["slack", "feishu", "dingtalk", "wecom", "telegram", "json"]
EventName = Literal["draft_ready", "run_degraded", "run_failed", "source_failing", "budget_nearly_spent"]
EVENT_NAMES: tuple[EventName, ...] = ("draft_ready", "run_degraded", "run_failed", "source_failing",
                                      "budget_nearly_spent")
SIGNED_KINDS = ("feishu", "dingtalk", "json")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TELEGRAM_API = "https://api.telegram.org"


def _env_name(value: str | None, key: str) -> str | None:
    if value is None or _ENV_NAME.match(value):
        return value
    looks_like_url = "://" in value or value.startswith(("www.", "hooks.", "oapi.", "open."))
    raise PydanticCustomError(
        "env_name",
        "the name of an environment variable (letters, digits, _), e.g. {key} = \"MY_WEBHOOK_URL\""
        + (" — not the URL itself: a webhook URL is a secret, export it in that variable" if looks_like_url else ""),
        {"key": key},
    )


class WebhookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: HookKind
    name: str | None = None  # how logs and `status` call it; default: the kind
    url_env: str | None = None  # required for every kind but telegram
    # A URL written inline is refused by its validator (a secret in a config file the editor commits).
    url: str | None = Field(default=None, exclude=True, repr=False)
    secret_env: str | None = None
    token_env: str | None = None  # telegram: the bot token
    chat_id: str | None = None  # telegram: the chat (or @channel) to post to
    api_url: str = TELEGRAM_API  # telegram's Bot API origin (holds no secret; tests point it at loopback)
    events: list[EventName] = Field(default_factory=lambda: list(EVENT_NAMES))

    _url: SecretStr | None = PrivateAttr(default=None)
    _secret: SecretStr | None = PrivateAttr(default=None)
    _token: SecretStr | None = PrivateAttr(default=None)
    _missing: list[str] = PrivateAttr(default_factory=list)

    @field_validator("url")
    @classmethod
    def _no_inline_url(cls, v: str | None) -> str | None:
        if v is not None:
            raise PydanticCustomError(
                "inline_secret",
                "`url_env`, the name of an environment variable holding the URL, not `url`: a webhook URL is a "
                "secret and is not read from config files (export MY_WEBHOOK_URL=… and set url_env = "
                "\"MY_WEBHOOK_URL\")")
        return v

    @field_validator("url_env", "secret_env", "token_env")
    @classmethod
    def _names(cls, v: str | None, info: object) -> str | None:
        return _env_name(v, str(getattr(info, "field_name", "url_env")))

    @model_validator(mode="after")
    def _complete(self) -> WebhookSettings:
        if self.kind == "telegram":
            if not self.token_env or not self.chat_id:
                raise ValueError("a telegram webhook needs token_env (the variable holding the bot token) and chat_id")
        elif not self.url_env:
            raise ValueError(f"a {self.kind} webhook needs url_env (the variable holding its URL)")
        if self.secret_env and self.kind not in SIGNED_KINDS:
            raise ValueError(f"secret_env signs feishu, dingtalk and json webhooks; {self.kind} has no signing")
        return self

    @property
    def label(self) -> str:
        return self.name or self.kind

    def bind(self, env: Mapping[str, str]) -> None:
        """Read the secrets this hook names from `env`; a name not set is remembered (delivery fails loudly)."""
        self._missing = []
        values: dict[str, SecretStr | None] = {}
        for attr, var in (("_url", self.url_env), ("_secret", self.secret_env), ("_token", self.token_env)):
            raw = env.get(var, "").strip() if var else ""
            if var and not raw:
                self._missing.append(var)
            values[attr] = SecretStr(raw) if raw else None
        self._url, self._secret, self._token = values["_url"], values["_secret"], values["_token"]

    @property
    def missing(self) -> list[str]:
        return list(self._missing)

    def target_url(self) -> str | None:
        """The URL to POST to (for telegram: the Bot API's sendMessage with the token), None when unset."""
        if self.kind == "telegram":
            token = self._token.get_secret_value() if self._token else None
            return f"{self.api_url.rstrip('/')}/bot{token}/sendMessage" if token else None
        return self._url.get_secret_value() if self._url else None

    def secret(self) -> str | None:
        return self._secret.get_secret_value() if self._secret else None

    def secrets(self) -> list[str]:
        """Every secret value of this hook, to mask in anything a receiver answers."""
        return [s.get_secret_value() for s in (self._url, self._secret, self._token) if s is not None]


class NotifySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhooks: list[WebhookSettings] = Field(default_factory=list)
    source_failures: int = Field(default=3, ge=1, le=1000)  # runs in a row a source fails before one message
    budget_warn_ratio: float = Field(default=0.8, gt=0.0, le=1.0)  # of llm.budget_run_usd, once per run
    timeout_s: float = Field(default=5.0, gt=0, le=60)  # per attempt, the whole exchange
    retries: int = Field(default=2, ge=0, le=5)  # on 5xx, 429 and timeouts
    retry_wait_s: float = Field(default=1.0, ge=0, le=30)  # first wait; doubles
    # Webhook hosts allowed although they resolve to loopback / private addresses (tests, a LAN chat server).
    allowed_hosts: list[str] = Field(default_factory=list)

    def bind_env(self, env: Mapping[str, str]) -> None:
        for hook in self.webhooks:
            hook.bind(env)
