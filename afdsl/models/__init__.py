"""Model backends: one file per provider, one small async protocol."""

from afdsl.models._http import check_api_keys, prompt_cache_default
from afdsl.models.base import (
    NO_CAPABILITIES,
    PROVIDERS,
    Backend,
    BackendError,
    BatchApi,
    Capabilities,
    CellCompleter,
    Completion,
    PromptCache,
    Request,
    UnknownProvider,
    make_backend,
)

__all__ = [
    "NO_CAPABILITIES",
    "PROVIDERS",
    "Backend",
    "BackendError",
    "BatchApi",
    "Capabilities",
    "CellCompleter",
    "Completion",
    "PromptCache",
    "Request",
    "UnknownProvider",
    "check_api_keys",
    "make_backend",
    "prompt_cache_default",
]
