"""A registry for LLM prompt templates: versioned, style-checked, localized.

``from registry import Client`` is the Python SDK (see :mod:`registry.client`); importing
this package loads none of the server's dependencies.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

# After __version__: the client reads it for its User-Agent.
from registry.client import (
    AuthError,
    Client,
    ConflictError,
    ConnectionError,
    NotFoundError,
    Prompt,
    RateLimitError,
    RegistryError,
    ServerError,
    TimeoutError,
    ValidationError,
    write_bundle,
)

if TYPE_CHECKING:
    from registry.client import AsyncClient

__all__ = [
    "AsyncClient",
    "AuthError",
    "Client",
    "ConflictError",
    "ConnectionError",
    "NotFoundError",
    "Prompt",
    "RateLimitError",
    "RegistryError",
    "ServerError",
    "TimeoutError",
    "ValidationError",
    "__version__",
    "write_bundle",
]


def __getattr__(name: str) -> Any:
    # AsyncClient loads asyncio: on first use only (see registry.client).
    if name == "AsyncClient":
        from registry.client.async_client import AsyncClient

        return AsyncClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
