"""Spend and pace for LLM calls: a requests/tokens-per-minute limiter and a hard budget (thread-safe)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from curator.errors import BudgetExceeded
from curator.settings import ModelPrice
from curator.text import HAN_RE

WINDOW_S = 60.0


def estimate_tokens(text: str) -> int:
    """A character estimate before the call: ~1 token per Han character, ~4 Latin characters per token."""
    han = len(HAN_RE.findall(text))
    return han + (len(text) - han) // 4 + 1


def cost_usd(price: ModelPrice | None, input_tokens: int, output_tokens: int) -> float:
    if price is None:
        return 0.0
    return input_tokens / 1e6 * price.input_per_mtok + output_tokens / 1e6 * price.output_per_mtok


class RateLimiter:
    """Blocks until a call of `tokens` fits both the rpm and tpm limits of the last minute (0 = none)."""

    def __init__(self, rpm: int, tpm: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rpm, self.tpm = rpm, tpm
        self._events: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def acquire(self, tokens: int) -> None:
        if not self.rpm and not self.tpm:
            return
        tokens = min(tokens, self.tpm) if self.tpm else tokens
        while True:
            with self._lock:
                now = self._clock()
                while self._events and now - self._events[0][0] >= WINDOW_S:
                    self._events.popleft()
                used = sum(t for _, t in self._events)
                fits_rpm = not self.rpm or len(self._events) < self.rpm
                fits_tpm = not self.tpm or used + tokens <= self.tpm
                if fits_rpm and fits_tpm:
                    self._events.append((now, tokens))
                    return
                wait = WINDOW_S - (now - self._events[0][0]) if self._events else 0.05
            self._sleep(max(0.05, wait))


class Budget:
    """A hard spending cap: `reserve` before a call (estimate), `settle` after it (actual)."""

    def __init__(self, limit_usd: float | None, spent_usd: float = 0.0, label: str = "run") -> None:
        self.limit = limit_usd
        self.spent = spent_usd
        self.label = label
        self._reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self, estimate_usd: float) -> None:
        if self.limit is None:
            return
        with self._lock:
            if self.spent + self._reserved + estimate_usd > self.limit:
                raise BudgetExceeded(
                    f"the {self.label} budget of ${self.limit:.2f} is reached (spent ${self.spent:.4f}); "
                    "the remaining items wait for the next run",
                )
            self._reserved += estimate_usd

    def settle(self, estimate_usd: float, actual_usd: float) -> None:
        with self._lock:
            if self.limit is not None:
                self._reserved = max(0.0, self._reserved - estimate_usd)
            self.spent += actual_usd
