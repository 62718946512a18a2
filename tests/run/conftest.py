"""Fixtures for the runner tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from afdsl.testing import MockProvider
from afdsl.testing.helpers import keyed_env

__all__ = ["keyed_env"]


@pytest.fixture
def mock() -> Iterator[MockProvider]:
    with MockProvider() as server:
        yield server
