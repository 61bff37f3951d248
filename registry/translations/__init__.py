"""Translations of prompt versions: revisions and review, the text served in a locale,
carrying translations to new versions, and PO files for translators' tools."""
