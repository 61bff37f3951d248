"""A registry for LLM prompt templates: versioned, style-checked, localized.

``from registry import Client`` is the Python SDK (see :mod:`registry.client`); importing
this package loads none of the server's dependencies.
"""

__version__ = "0.1.0"

# After __version__: the client reads it for its User-Agent.
from registry.client import (
    AsyncClient,
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
