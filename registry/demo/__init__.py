"""A demo library of realistic prompts, seeded into an empty registry."""

from registry.demo.seed import seed_demo

__all__ = ["seed_demo"]
