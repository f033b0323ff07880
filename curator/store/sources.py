"""Store: configured sources, their HTTP validators and their health (failures and empty runs in a row)."""

from __future__ import annotations

from curator.models import SourceHealth, Validators
from curator.store.base import StoreBase, now_utc, stored_source_url, ts


class SourceQueries(StoreBase):
    def sync_source(self, name: str, kind: str, url: str) -> None:
        url = stored_source_url(url)  # no user:pass@, no query values (API tokens) in the database
        with self.transaction():
            self.db.execute(
                "INSERT INTO sources(name, kind, url) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET kind=excluded.kind, "
                "etag=CASE WHEN sources.url=excluded.url THEN sources.etag END, "
                "last_modified=CASE WHEN sources.url=excluded.url THEN sources.last_modified END, "
                "url=excluded.url",
                (name, kind, url),
            )

    def source_validators(self, name: str) -> Validators:
        row = self.db.execute("SELECT etag, last_modified FROM sources WHERE name=?", (name,)).fetchone()
        return Validators(etag=row["etag"], last_modified=row["last_modified"]) if row else Validators()

    def record_source_ok(self, name: str, validators: Validators | None, new_items: int,
                         yielded: int | None = None) -> None:
        """Called after the source's items are committed, so validators never run ahead of the items.

        `yielded` is how many entries the answer held (None: not modified); 0 counts an empty run."""
        with self.transaction():
            self.db.execute(
                "UPDATE sources SET last_ok_at=?, consecutive_failures=0, items_total=items_total+?, "
                "consecutive_empty=CASE WHEN ? IS NULL THEN consecutive_empty WHEN ? = 0 "
                "THEN consecutive_empty+1 ELSE 0 END, "
                "etag=COALESCE(?, etag), last_modified=COALESCE(?, last_modified) WHERE name=?",
                (
                    ts(now_utc()),
                    new_items,
                    yielded,
                    yielded,
                    validators.etag if validators else None,
                    validators.last_modified if validators else None,
                    name,
                ),
            )

    def record_source_error(self, name: str, reason: str) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE sources SET last_error=?, last_error_at=?, consecutive_failures=consecutive_failures+1 "
                "WHERE name=?",
                (reason, ts(now_utc()), name),
            )

    def source_health(self) -> list[SourceHealth]:
        rows = self.db.execute("SELECT * FROM sources ORDER BY name")
        return [SourceHealth.model_validate(dict(r)) for r in rows]
