"""Helpers shared by the tests/test_sources_*.py modules (no tests here): run a source's discover()
through a real curator Fetcher against the loopback pytest-httpserver."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from curator.http import Fetcher
from curator.models import Validators
from curator.settings import FetchSettings
from curator.sources import SourceContext, SourceResult

NOW = datetime(2026, 11, 24, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures" / "sources"
LOOPBACK = FetchSettings(allowed_hosts=["127.0.0.1", "localhost"], retries=0, deadline_s=10)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


async def discover_async(
    source, *, validators: Validators | None = None, now: datetime = NOW
) -> SourceResult:
    async with Fetcher(LOOPBACK) as fetcher:
        return await source.discover(
            SourceContext(fetcher=fetcher, validators=validators or Validators(), now=now)
        )


def discover(source, *, validators: Validators | None = None, now: datetime = NOW) -> SourceResult:
    return asyncio.run(discover_async(source, validators=validators, now=now))
