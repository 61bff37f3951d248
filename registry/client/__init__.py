"""The registry's Python SDK: prompts fetched once, cached, and rendered locally.

An application in ten lines::

    from registry import Client

    client = Client()  # $REGISTRY_URL, $REGISTRY_API_KEY; or Client("http://localhost:8000")
    client.preload(["support/greeting"], locales=[None, "fr", "de"])  # warm at start-up

    def greet(user):
        prompt = client.get("support/greeting", locale=user.locale,  # e.g. "fr-CA"
                            fallback="Greet {{ customer_name }} and offer help.")
        text = prompt.render(customer_name=user.name, open_tickets=2)
        return text, prompt.config.model, prompt.locale, prompt.is_fallback

``get(name, label=…, version=…, locale=…)`` returns a :class:`Prompt`: ``render(**values)``
gives the text, or for a chat prompt a list of ``{"role", "content"}`` dicts, rendered
with the server's own engine (byte-identical to ``POST …/-/render``); ``version``,
``label``, ``locale`` (served), ``requested_locale``, ``locale_match``, ``config``,
``variables``, ``components`` and ``is_fallback`` describe it. ``locale`` may be a list,
best first. ``client.render(name, variables, …)`` is the one-call form.

Caching. A pinned version whose answer the server marks immutable is kept for the life
of the process. Anything else is fresh for ``cache_ttl`` seconds (60); after that the
cached prompt is still returned at once while one background refresh per prompt (a
thread; a task in :class:`AsyncClient`) revalidates it with ``If-None-Match``. The cache
holds ``cache_size`` prompts (1024), least recently used evicted first. When the registry
is unreachable or answers 5xx, cached prompts keep being served (the outage is logged
once, on the ``registry.client`` logger); a prompt never fetched comes from the offline
bundle, else from ``fallback=`` (``prompt.is_fallback`` is then true), else the error is
raised; while the outage lasts such a miss tries the registry once, without retries.
A prompt the registry answers 404 for (not published yet) is served from ``fallback=``
when one is given (logged once per name, not cached), else ``NotFoundError`` is raised.

Adapters. ``prompt.to_openai_chat(**values)``, ``to_openai_responses``, ``to_litellm``
give the keyword arguments of those clients' create calls, the rendered prompt with the
version's model config; ``to_langchain`` a LangChain ``ChatPromptTemplate`` (the
``langchain`` extra). See :mod:`registry.client.adapters`.
``invalidate(name=None)`` forgets; ``preload([...])`` warms; the client's own writes
(``publish``, ``set_label``, translations) invalidate what they change.

Offline bundles. ``write_bundle(client, "prompts.json")`` resolves every prompt's
``production`` label in every locale into one file; ``Client(bundle="prompts.json")``
serves it with no registry at all, or, with a ``base_url`` too, when the registry is down.

Management calls (``create_prompt``, ``publish``, ``set_label``, ``list_versions``,
``diff``, ``submit_translation``, ``review_translation``, ``translation_queue``,
``export_translations``, ``import_translations``, …) return the API's Pydantic models.
Failures raise the tree in :mod:`registry.client.errors`; connection errors, 429 and 5xx
are retried ``max_retries`` times (2) with exponential backoff and jitter, honouring
``Retry-After``; a 4xx never is. One client is safe to share between threads.
"""

from typing import TYPE_CHECKING, Any

from registry.client.bundle import Bundle, BundleEntry, load_bundle, write_bundle
from registry.client.errors import (
    AuthError,
    ConflictError,
    ConnectionError,
    NotFoundError,
    RateLimitError,
    RegistryError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from registry.client.prompt import Prompt
from registry.client.sync import Client

if TYPE_CHECKING:
    from registry.client.async_client import AsyncClient

__all__ = [
    "AsyncClient",
    "AuthError",
    "Bundle",
    "BundleEntry",
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
    "load_bundle",
    "write_bundle",
]


def __getattr__(name: str) -> Any:
    # AsyncClient is imported on first use: it brings asyncio, a tenth of the SDK's
    # import time, which an application using Client never needs.
    if name == "AsyncClient":
        from registry.client.async_client import AsyncClient

        return AsyncClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
