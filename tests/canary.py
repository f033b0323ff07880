"""The canary secret (RELIABILITY row 38): every test that needs an API key uses this one, and the
suite checks that it never shows up in logs, output, the store, drafts or errors."""

import secrets

CANARY = "sk-canary-" + secrets.token_hex(12)
