"""Imports every domain's tables so the metadata is complete (Alembic, checks)."""


def load_all() -> None:
    """Register every table on ``registry.db.Base.metadata``."""
    import registry.access.models
    import registry.console.models
    import registry.events.models
    import registry.experiments.models
    import registry.prompts.models
    import registry.style.models
    import registry.translations.models  # noqa: F401
