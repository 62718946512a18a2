"""Model backends: one file per provider, one small async protocol."""

from afdsl.models.base import (
    PROVIDERS,
    Backend,
    BackendError,
    Completion,
    Request,
    UnknownProvider,
    make_backend,
)

__all__ = [
    "PROVIDERS",
    "Backend",
    "BackendError",
    "Completion",
    "Request",
    "UnknownProvider",
    "make_backend",
]
