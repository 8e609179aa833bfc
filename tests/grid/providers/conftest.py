"""Shared doubles for the provider tests: a fake clock/sleep and a mock-transport factory.

No test here touches the network: every client runs over :class:`httpx.MockTransport`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from infercarbon.grid.providers._http import HttpTransport, RetryPolicy

DATA = Path(__file__).resolve().parents[2] / "data" / "providers"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeClock:
    """Epoch seconds that only move when the code under test sleeps (or a test advances)."""

    def __init__(self, start_s: float = 1_716_300_000.0) -> None:  # 2024-05-21T14:00:00Z
        self.now_s = start_s
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now_s

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now_s += s

    def advance(self, s: float) -> None:
        self.now_s += s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_transport(clock: FakeClock) -> Callable[..., HttpTransport]:
    def make(
        handler: Handler, *, retry: RetryPolicy | None = None, provider: str = "test"
    ) -> HttpTransport:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        return HttpTransport(
            provider,
            client=client,
            clock=clock,
            sleep=clock.sleep,
            rand=lambda: 0.5,
            retry=retry or RetryPolicy(),
        )

    return make


def _fixture_bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _json_response(name: str, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, content=_fixture_bytes(name), headers={"Content-Type": "application/json"}
    )


@pytest.fixture
def fixture_bytes() -> Callable[[str], bytes]:
    """Read a recorded payload from tests/data/providers."""
    return _fixture_bytes


@pytest.fixture
def json_response() -> Callable[..., httpx.Response]:
    """A JSON response whose body is a recorded payload."""
    return _json_response
