"""Prompts, their immutable versions, labels, and serving."""
