"""The [celery] settings section (run.engine = "celery", curator/engine/): kept beside settings.py."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
