"""Test helpers other engineers and the benchmarks reuse: a loopback mock provider."""

from afdsl.testing.mock_provider import MockError, MockProvider

__all__ = ["MockError", "MockProvider"]
