"""The one Celery app, configured from curator's settings (never from a celeryconfig module of its own).

Late acknowledgement with reject-on-worker-lost and a prefetch of one: a task whose worker dies goes back
to the queue instead of vanishing, and no worker sits on tasks it has not started. JSON only: a task's
arguments are an item id, a run id and a workspace folder, never a pickled object.
"""

from __future__ import annotations

from celery import Celery

from curator.settings import Settings

app = Celery("curator", include=["curator.engine.tasks"])


def configure(settings: Settings) -> Celery:
    """The app pointed at the workspace's broker, with curator's delivery rules; returns it."""
    cel = settings.celery
    app.conf.update(
        broker_url=cel.broker_url,
        result_backend=cel.result_backend or cel.broker_url,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=cel.task_time_limit_s,
        task_soft_time_limit=max(1.0, cel.task_time_limit_s - 5.0),
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=cel.queue,
        result_expires=int(cel.wait_timeout_s) + 3600,
        # A dead worker's unacknowledged task is delivered again after this long (kombu's Redis transport).
        broker_transport_options={"visibility_timeout": cel.visibility_timeout_s,
                                  # the sweep that restores them: every few seconds, not kombu's ~100 s
                                  "unacked_restore_interval": max(1, min(10, int(cel.visibility_timeout_s / 2))),
                                  "unacked_restore_throttle": 1},
        result_backend_transport_options={"visibility_timeout": cel.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,  # curator's handler (with its URL-redacting filter) stays
        worker_send_task_events=False,
        task_track_started=False,
    )
    return app
