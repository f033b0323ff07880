"""Settings: built once at the edge and passed down.

Precedence, lowest first (each layer overrides the one before; `Settings.origins` says which set a value):

    1. defaults in code (the models below)
    2. config/*.toml under the workspace, files merged in name order ("file:config/curator.toml")
    3. environment: CURATOR_<SECTION>__<KEY> (e.g. CURATOR_LLM__MODEL, CURATOR_FETCH__DEADLINE_S),
       plus OPENAI_API_KEY / OPENAI_BASE_URL for the LLM ("env:CURATOR_LLM__MODEL")
    4. CLI flags ("flag:--provider")

Nothing below this module reads os.environ. Secrets are SecretStr and never printed.
"""

from __future__ import annotations

import ipaddress
import json
import tomllib
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from curator.config_errors import SourcePlace, bad_source_url, describe, unknown_kind, where
from curator.errors import ConfigError
from curator.notify.config import NotifySettings
from curator.rules import Rule
from curator.settings_team import CelerySettings, StoreSettings
from curator.sitepaths import SitePublishing


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PublicationSettings(SitePublishing, _Section):  # + draft_path, published_path, feed_path … (sitepaths.py)
    name: str = "In The Loop 科技周刊"
    language: str = "zh-Hans"  # BCP-47; zh-Hans output is forced to Simplified characters
    author: str = "curator"
    template: str = "footnotes"  # a name in curator/templates/ or a path to a custom .md.j2
    title_format: str = "{name} #{number}：{headline}"
    intro: str = "本期内容由 curator 自动收集整理，经编辑审阅后发布。"
    outro: str = ""
    tags: list[str] = Field(default_factory=lambda: ["科技周刊", "AI"])
    type: str = "weekly"
    window_days: int = Field(default=7, ge=1, le=366)
    first_issue_number: int = Field(default=1, ge=1, le=1_000_000)
    label_english: str = "（英文）"  # appended to items whose source is English; "" to turn off
    front_matter: Literal["hugo", "hexo", "jekyll", "none"] = "hugo"  # "none": no front matter
    looking_back: bool = False  # add a "往年回顾" block: archive issues of the same week in earlier years
    editor_label: str = Field(default="编辑推荐", min_length=1)  # how the editor's own finds are credited
    # Extra front-matter keys, verbatim (e.g. Hexo's `type = "garden"`); a key here replaces the built-in one.
    front_matter_extra: dict[str, Any] = Field(default_factory=dict)
    # "section": with an LLM backend each section is written as one to three paragraphs of prose citing
    # its stories (curator/prose.py); "story" (default): one paragraph per story.
    prose: Literal["story", "section"] = "story"


class SectionSettings(_Section):
    id: str
    title: str
    quota: int = Field(default=5, ge=0, le=100)
    keywords: list[str] = Field(default_factory=list)


class TagSettings(_Section):
    id: str
    keywords: list[str] = Field(default_factory=list)


class ProfileSettings(_Section):
    """What the weekly covers and never covers; drives offline scoring and LLM triage."""

    description: str = "面向中文读者的 AI 与科技周刊：模型、开发工具、开源、芯片与产业动态。"
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    min_score: int = Field(default=20, ge=0, le=100)


class SourceSettings(_Section):
    name: str
    kind: str = "rss"
    url: str
    weight: float = Field(default=1.0, ge=0.0, le=10.0)
    section: str | None = None
    enabled: bool = True
    max_entries: int = Field(default=200, ge=1, le=10_000)
    # Keyword or `re:` regex rules on title / url / author / tags (curator/rules.py): `keep` lets only
    # matching candidates through, `block` drops matching ones before they are fetched.
    keep: list[Rule] = Field(default_factory=list, max_length=100)
    block: list[Rule] = Field(default_factory=list, max_length=100)


class FetchSettings(_Section):
    user_agent: str = "curator/0.1 (+https://github.com/curator-weekly/curator; editor@example.org)"
    max_concurrency: int = Field(default=8, ge=1, le=256)
    per_host_concurrency: int = Field(default=1, ge=1, le=64)  # politeness: one request per host
    per_host_delay_s: float = Field(default=0.0, ge=0.0, le=60.0)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    read_timeout_s: float = Field(default=10.0, gt=0, le=300)
    deadline_s: float = Field(default=30.0, gt=0, le=600)  # overall, per request
    max_bytes: int = Field(default=5_000_000, ge=1024, le=200_000_000)
    max_redirects: int = Field(default=5, ge=0, le=20)
    retries: int = Field(default=1, ge=0, le=3)
    # Hosts allowed even though they resolve to loopback/private addresses (tests, the demo).
    allowed_hosts: list[str] = Field(default_factory=list)
    # host[:port] -> ip:port, like curl --resolve; the demo routes its *.demo.test hosts to loopback.
    resolve: dict[str, str] = Field(default_factory=dict)
    respect_robots: bool = True  # obey robots.txt for article pages (feeds and APIs are published to be read)
    ca_bundle: str | None = None  # extra CA file to trust (the demo's self-signed *.demo.test)

    @field_validator("resolve")
    @classmethod
    def _pinned_ports(cls, v: dict[str, str]) -> dict[str, str]:
        # An address without a port would let a redirect to name:<any port> reach every listener on it.
        for key, target in v.items():
            ip, sep, port = target.strip().rpartition(":")
            try:
                ipaddress.ip_address(ip.strip("[]"))
                bracketed = ":" not in ip or (ip.startswith("[") and ip.endswith("]"))  # [::1]:8080
                ok = bool(sep) and bracketed and port.isdigit() and 0 < int(port) < 65536
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"entry {key!r} must map to ip:port (e.g. \"127.0.0.1:8080\"); the port is required")
        return v


class ExtractSettings(_Section):
    min_chars: int = Field(default=120, ge=0, le=1_000_000)
    max_chars: int = Field(default=60_000, ge=1000, le=10_000_000)
    workers: int = Field(default=-1, ge=-1, le=64)  # parser processes; -1 = one per core, 0 = in-process
    timeout_s: float = Field(default=60.0, gt=0, le=600)  # per document
    worker_max_mb: int = Field(default=3072, ge=0, le=1_048_576)  # address-space cap per parser process (0 = none)
    engine: Literal["auto", "trafilatura"] = "auto"  # auto: rs-trafilatura on non-CJK pages when installed


class ModelPrice(_Section):
    input_per_mtok: float = Field(ge=0, le=1_000_000)  # USD per million input tokens
    output_per_mtok: float = Field(ge=0, le=1_000_000)


# Provider presets: what `llm.preset` fills in when the keys are not set explicitly.
PRESETS: dict[str, dict[str, Any]] = {
    "openai": {"base_url": None, "model": "gpt-4o-mini", "response_format": "json_schema"},
    "deepseek": {"base_url": "https://api.deepseek.com/v1", "model": "deepseek-chat", "response_format": "json_object"},
    "dashscope": {"base_url": "https://dashscope.aliyuncs.com/compatible-mode/v1", "model": "qwen-plus",
                  "response_format": "json_object"},
    "ollama": {"base_url": "http://localhost:11434/v1", "model": "qwen2.5:7b", "response_format": "json_schema"},
    "vllm": {"base_url": "http://localhost:8000/v1", "model": "Qwen/Qwen2.5-7B-Instruct",
             "response_format": "json_schema"},
}

DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4o-mini": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.60),
    "gpt-4.1-mini": ModelPrice(input_per_mtok=0.40, output_per_mtok=1.60),
    "gpt-4o": ModelPrice(input_per_mtok=2.50, output_per_mtok=10.0),
    "deepseek-chat": ModelPrice(input_per_mtok=0.27, output_per_mtok=1.10),
    "qwen-plus": ModelPrice(input_per_mtok=0.40, output_per_mtok=1.20),
}


class LLMSettings(_Section):
    provider: Literal["auto", "openai", "offline"] = "auto"
    preset: Literal["openai", "deepseek", "dashscope", "ollama", "vllm"] | None = None
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key: SecretStr | None = None
    max_retries: int = Field(default=2, ge=0, le=10)  # the SDK's, for 429/5xx/connection errors
    timeout_s: float = Field(default=60.0, gt=0, le=600)
    concurrency: int = Field(default=4, ge=1, le=64)
    rpm: int = Field(default=0, ge=0, le=1_000_000)  # requests per minute, 0 = no limit
    tpm: int = Field(default=0, ge=0, le=1_000_000_000)  # tokens per minute, 0 = no limit
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_input_chars: int = Field(default=6000, ge=500, le=1_000_000)
    response_format: Literal["json_schema", "json_object"] = "json_schema"
    breaker_failures: int = Field(default=5, ge=1, le=1000)  # consecutive failures that stop the stage
    # Two-stage enrichment: a cheap batched triage of titles + snippets, then the full pass for
    # items scoring at least `triage_threshold` or in their section's top `triage_top_k`.
    triage: bool = True
    triage_threshold: int = Field(default=40, ge=0, le=100)
    triage_top_k: int = Field(default=3, ge=0, le=1000)
    triage_batch: int = Field(default=20, ge=1, le=100)
    budget_run_usd: float | None = Field(default=2.0, ge=0, le=1_000_000)  # a stray key spends at most this
    budget_issue_usd: float | None = Field(default=None, ge=0, le=1_000_000)
    prices: dict[str, ModelPrice] = Field(default_factory=dict)

    def price(self) -> ModelPrice | None:
        return self.prices.get(self.model) or DEFAULT_PRICES.get(self.model)


class RunSettings(_Section):
    deadline_s: float | None = Field(default=None, gt=0, le=7 * 86_400)  # a collect stops taking work after this long
    # New links published longer ago than this are recorded but never fetched (0 = no limit).
    max_age_days: int = Field(default=14, ge=0, le=36_500)
    # The clock every window is computed from (the draft's week, `status`, max_age_days, the cluster
    # window). None = the wall clock; a fixed instant (CURATOR_RUN__NOW=2026-11-23T23:59:00+00:00)
    # pins a run to a week: the demo pins its corpus week, tests pin theirs, so nothing ages.
    now: datetime | None = None
    # "celery": fetch/extract/enrich run as Celery tasks on `curator worker` processes ([celery]).
    engine: Literal["local", "celery"] = "local"

    @field_validator("now")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v


class LearningSettings(_Section):
    enabled: bool = True  # source and tag weights learned from kept vs dropped stories adjust selection


class LintSettings(_Section):
    # Sites with no https version: their http:// links are not `non_https` findings (e.g. ["example.org"]).
    allow_http_hosts: list[str] = Field(default_factory=list)


class DraftSettings(_Section):
    dir: str = "drafts"
    max_per_domain: int = Field(default=3, ge=1, le=1000)
    min_stories: int = Field(default=1, ge=0, le=1000)


class Settings(_Section):
    home: Path = Path(".")
    publication: PublicationSettings = Field(default_factory=PublicationSettings)
    sections: list[SectionSettings] = Field(default_factory=list)
    taxonomy: list[TagSettings] = Field(default_factory=list)
    profile: ProfileSettings = Field(default_factory=ProfileSettings)
    sources: list[SourceSettings] = Field(default_factory=list)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    celery: CelerySettings = Field(default_factory=CelerySettings)
    learning: LearningSettings = Field(default_factory=LearningSettings)
    drafts: DraftSettings = Field(default_factory=DraftSettings)
    lint: LintSettings = Field(default_factory=LintSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)  # webhooks (curator/notify/config.py)
    origins: dict[str, str] = Field(default_factory=dict, exclude=True)

    @field_validator("sections")
    @classmethod
    def _unique_sections(cls, v: list[SectionSettings]) -> list[SectionSettings]:
        ids = [s.id for s in v]
        if len(ids) != len(set(ids)):
            raise ValueError(f"section ids must be unique, got {ids}")
        return v

    # Paths are relative to the workspace (home).
    @property
    def db_path(self) -> Path:
        return (self.home / self.store.path).resolve()

    @property
    def store_target(self) -> Path | str:  # what Store() opens: store.url when set, else the SQLite file
        return self.store.url or self.db_path

    @property
    def lock_path(self) -> Path:
        return self.db_path.with_suffix(".lock")

    @property
    def drafts_dir(self) -> Path:
        return (self.home / self.drafts.dir).resolve()

    @property
    def prompts_dir(self) -> Path:
        local = self.home / "prompts"
        return local if local.is_dir() else defaults_dir() / "prompts"

    def now(self) -> datetime:
        """The current instant for windows: run.now when pinned, else the wall clock."""
        return self.run.now or datetime.now(UTC)

    def section_ids(self) -> list[str]:
        return [s.id for s in self.sections]

    def tag_ids(self) -> list[str]:
        return [t.id for t in self.taxonomy]

    def source(self, name: str) -> SourceSettings | None:
        return next((s for s in self.sources if s.name == name), None)

    def source_weight(self, names: Iterable[str]) -> float:
        """The weight of an item seen by these sources: its heaviest configured source (1.0 if none)."""
        return max((src.weight for n in names if (src := self.source(n))), default=1.0)


def defaults_dir() -> Path:
    """Where the bundled config/ and prompts/ live: in the wheel, or the repo for an editable install."""
    here = Path(__file__).resolve().parent
    packaged = here / "_defaults"
    return packaged if packaged.is_dir() else here.parent


_ENV_PREFIX = "CURATOR_"


def _merge(base: dict[str, Any], new: Mapping[str, Any], origin: str, origins: dict[str, str], path: str = "") -> None:
    for key, value in new.items():
        dotted = f"{path}{key}"
        if isinstance(value, Mapping) and isinstance(base.get(key, {}), dict):
            _merge(base.setdefault(key, {}), value, origin, origins, dotted + ".")
        elif isinstance(value, list) and isinstance(base.get(key), list) and key == "sources":
            base[key] = [*base[key], *value]  # sources from several files add up
            origins[dotted] = origin
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value
            origins[dotted] = origin


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded as UTF-8). Save the file "
                          "as UTF-8 and run again.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the file and run again.") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}).") from exc


def _env_layer(env: Mapping[str, str]) -> list[tuple[str, str, Any, str]]:
    """(section, key, value) triples with the variable that set them."""
    layer: dict[str, Any] = {}
    names: dict[tuple[str, str], str] = {}
    for name, raw in env.items():
        if not name.startswith(_ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(_ENV_PREFIX) :].lower().partition("__")
        if section in {"home"}:
            continue
        value: Any = raw
        if raw[:1] in "[{" or raw in {"true", "false"}:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
        layer.setdefault(section, {})[key] = value
        names[(section, key)] = name
    for var, key in (("OPENAI_API_KEY", "api_key"), ("OPENAI_BASE_URL", "base_url")):
        if env.get(var) and key not in layer.get("llm", {}):
            layer.setdefault("llm", {})[key] = env[var]
            names[("llm", key)] = var
    return [(sec, key, val, names[(sec, key)]) for sec, kv in layer.items() for key, val in kv.items()]


def load_settings(
    home: Path | str = ".",
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    config_files: list[Path] | None = None,
    kinds: Collection[str] | None = None,
) -> Settings:
    """Build Settings from the four layers. Raises ConfigError naming the field (never its value). `kinds`:
    the source kinds the registry knows (`curator.sources.known_kinds()`; this module never imports
    the sources), so an unknown kind fails here; None leaves it to `build_source`."""
    home = Path(home).resolve()
    data: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if config_files is None:
        cfg_dir = home / "config"
        config_files = sorted(cfg_dir.glob("*.toml")) if cfg_dir.is_dir() else []
        if not config_files:  # an uninitialised folder: the bundled publication, no sources
            config_files = [defaults_dir() / "config" / "curator.toml"]
    places: list[SourcePlace] = []  # where each [[sources]] entry was written, for errors that name the line
    for path in config_files:
        table = _read_toml(path)
        entries = table.get("sources")
        places += [SourcePlace(path, i) for i in range(len(entries))] if isinstance(entries, list) else []
        _merge(data, table, f"file:{_rel(path, home)}", origins)
    for section, key, value, var in _env_layer(env or {}):
        _merge(data, {section: {key: value}}, f"env:{var}", origins)
    for section, values in (overrides or {}).items():
        clean = {k: v for k, v in values.items() if v is not None}
        for key, value in clean.items():
            _merge(data, {section: {key: value}}, f"flag:--{key.replace('_', '-')}", origins)
    data["home"] = home
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, model=Settings, data=data, origins=origins, home=home,
                                   places=places, kinds=kinds)) from None
    settings.origins = origins
    settings.notify.bind_env(env or {})  # webhook URLs and tokens: only ever from the environment
    _apply_preset(settings)
    _check_references(settings, kinds, [where(("sources", i, "kind"), origins, home, places)
                                        for i in range(len(settings.sources))])
    return settings


def _apply_preset(s: Settings) -> None:
    if s.llm.preset is None:
        return
    for key, value in PRESETS[s.llm.preset].items():
        if f"llm.{key}" not in s.origins:
            setattr(s.llm, key, value)
            s.origins[f"llm.{key}"] = f"preset:{s.llm.preset}"


def _check_references(s: Settings, kinds: Collection[str] | None, places: list[str]) -> None:
    sections = set(s.section_ids())
    problems = []
    for src, at in zip(s.sources, places, strict=True):
        if src.section and sections and src.section not in sections:
            problems.append(f"  sources[{src.name}].section ({at}): '{src.section}' is not a configured section; "
                            f"known: {', '.join(sorted(sections))}")
        if not src.url.startswith(("http://", "https://")):
            problems.append(f"  sources[{src.name}].url ({at}): expected an http(s) URL")
        elif why := bad_source_url(src.url):
            problems.append(f"  sources[{src.name}].url ({at}): {why}")
        if kinds is not None and src.kind not in kinds:  # the registry's list, passed in by the edge
            problems.append(f"  sources[{src.name}].kind ({at}): {unknown_kind(src.kind, kinds)}")
    names = [src.name for src in s.sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"  sources: names must be unique, repeated: {', '.join(dupes)}")
    if problems:
        raise ConfigError("invalid configuration:\n" + "\n".join(problems) + "\nFix these keys and run again.")


def require_llm_key(settings: Settings) -> None:
    """ConfigError when enrichment is set to the openai backend without a key, so a run that would fail at the
    enrich stage fails before it fetches anything."""
    if settings.llm.provider == "openai" and settings.llm.api_key is None:
        origin = settings.origins.get("llm.provider", "defaults")
        raise ConfigError(f"llm.provider is 'openai' (from {origin}) but no API key is set: export "
                          "OPENAI_API_KEY, or set llm.provider to \"auto\" or \"offline\".")


def _rel(path: Path, home: Path) -> str:
    try:
        return str(path.resolve().relative_to(home))
    except ValueError:
        return str(path)
