"""Store: what the Celery engine's per-item tasks read (portable SQL only, so it runs on every dialect)."""

from __future__ import annotations

from curator.models import ItemState, WorkItem
from curator.store.base import StoreBase
from curator.store.items import _WORK_COLUMNS, _work_item


class EngineQueries(StoreBase):
    def work_item_at(self, item_id: int, state: ItemState) -> WorkItem | None:
        """The item as its stage needs it, only while it is at `state`: a task handed an item already past
        its stage (a redelivered task, a second run) finds None and does nothing."""
        row = self.db.execute(f"SELECT {_WORK_COLUMNS} FROM items i WHERE i.id=? AND i.state=?",
                              (item_id, state.value)).fetchone()
        return None if row is None else _work_item(row)
