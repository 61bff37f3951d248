"""A registry for LLM prompt templates: versioned, style-checked, localized."""

__version__ = "0.1.0"
