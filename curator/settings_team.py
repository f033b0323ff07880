"""The settings of a team's set-up, kept beside settings.py: [store] (a shared Postgres) and [celery]
(run.engine = "celery", curator/engine/)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CelerySettings(BaseModel):
    """run.engine = "celery": where the tasks go (env CURATOR_CELERY__BROKER_URL …; passwords masked)."""

    model_config = ConfigDict(extra="forbid")

    broker_url: str = "redis://127.0.0.1:6379/0"  # also the shared state (politeness, LLM limits)
    result_backend: str | None = None  # None = the broker's URL
    task_time_limit_s: float = Field(default=600.0, gt=0, le=86_400)  # a task running longer is killed
    wait_timeout_s: float = Field(default=3600.0, gt=0, le=7 * 86_400)  # collect gives up waiting (items wait)
    # An unacknowledged task of a dead worker goes back to the queue after this long (kombu's Redis transport).
    visibility_timeout_s: float = Field(default=900.0, gt=0, le=86_400)
    queue: str = Field(default="curator", min_length=1)
    # How soon what a dead worker held (an item's claim, a host's request slot) is free again: a live holder
    # renews it every third of this while it works, so only a holder that died (kill -9, lost machine) lets it lapse.
    lease_s: float = Field(default=15.0, ge=1.0, le=600.0)


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = "data/curator.db"
    url: str | None = None  # a team's shared Postgres instead of the file: postgresql://user:password@host/db

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("postgresql://", "postgres://")):
            raise ValueError("expected a postgresql:// URL (or leave it unset for the SQLite file at store.path)")
        return v or None
