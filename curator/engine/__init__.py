"""The Celery engine (`run.engine = "celery"`): fetch → extract per item, then enrich per story lead, as
Celery tasks on `curator worker` processes; `curator collect` discovers, enqueues, waits and clusters.

    collect (coordinator.py) ─► discover ─► fetch_item | extract_item  (tasks.py, on the workers)
                             ─► cluster (one step, here) ─► triage (one step) ─► enrich_item per lead
    shared.py: what the processes share in Redis (stop and fault flags, breaker, budget, rate limit,
               per-host pauses, robots answers)

The store's state is the truth: a task reads its item and does nothing when the item is past its stage,
so a redelivered task changes nothing; a task lost with its worker leaves the item waiting for the next
run. Nothing here is imported unless the engine is configured (the local engine needs no Celery or Redis).
"""
