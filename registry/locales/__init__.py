"""Locale tools every package uses: tags in one canonical form and CLDR fallback chains
(``tags``), the locales a request names (``requests``) and which of them a text is looked
up in (``negotiation``), and the registry's own messages in the caller's language
(``messages``, ``middleware``).

No module here imports a domain package or a service (tests/locales/test_layering.py).
"""
