"""Notifications: webhooks that tell the editor when something needs them (Slack, Feishu, DingTalk, WeCom,
Telegram, generic JSON).

    config.py    [notify] settings: the hooks, their env-only secrets, the thresholds
    events.py    the events (typed models) and their wording in the publication's language
    payloads.py  each service's documented message shape, signing, and how it says "refused"
    deliver.py   one POST per hook: netguard-vetted address, overall timeout, tenacity retries
    notifier.py  what a finished collect / draft is worth telling, sent once, failures recorded

Nothing here is imported by `curator/notify/__init__` itself: settings.py imports config.py, and the rest
imports settings, so this package file stays empty of imports.
"""
