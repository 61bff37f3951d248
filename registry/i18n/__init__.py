"""Locale identifiers, CLDR fallback chains and Accept-Language negotiation."""
