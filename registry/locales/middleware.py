"""ASGI middleware that serves each request's messages in the caller's language."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.locales.messages import load_catalogs, request_locale, use_locale
from registry.locales.tags import to_bcp47

__all__ = ["LocaleMiddleware", "language_headers"]

_PROBLEM_JSON = b"application/problem+json"


def language_headers(locale: str) -> dict[str, str]:
    """The headers of a response whose text is in ``locale`` and chosen by Accept-Language."""
    return {"Content-Language": to_bcp47(locale), "Vary": "Accept-Language"}


class LocaleMiddleware:
    """Negotiate the messages' locale from ``Accept-Language`` and set it for the request.

    Problem responses say which language they are in (``Content-Language``) and that it
    depends on the request's ``Accept-Language`` (``Vary``). Other responses carry the
    registry's content, whose locale their own endpoint decides.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Compile missing or stale catalogs at start-up, not in the first request.
        load_catalogs()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        accept_language = ", ".join(
            value.decode("latin-1") for key, value in scope["headers"] if key == b"accept-language"
        )
        locale = request_locale(accept_language)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = _with_language(list(message.get("headers", [])), locale)
                message = {**message, "headers": headers}
            await send(message)

        with use_locale(locale):
            await self.app(scope, receive, send_with_language)


def _with_language(headers: list[tuple[bytes, bytes]], locale: str) -> list[tuple[bytes, bytes]]:
    """Add the language headers to a problem response's headers, keeping any already set."""
    values: dict[bytes, list[bytes]] = {}
    for key, value in headers:
        values.setdefault(key.lower(), []).append(value.lower())
    content_type = values.get(b"content-type", [b""])[0]
    if content_type.partition(b";")[0].strip() != _PROBLEM_JSON:
        return headers
    language = language_headers(locale)
    if b"content-language" not in values:
        headers.append((b"content-language", language["Content-Language"].encode()))
    vary = b",".join(values.get(b"vary", []))
    if b"accept-language" not in vary and b"*" not in vary:
        headers.append((b"vary", language["Vary"].encode()))
    return headers
