"""Backup and restore: the whole registry as one versioned JSON document."""

from registry.backup.schemas import FORMAT, FORMAT_VERSION, Backup, ImportSummary
from registry.backup.service import dumps, export_registry, import_registry, snapshot

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Backup",
    "ImportSummary",
    "dumps",
    "export_registry",
    "import_registry",
    "snapshot",
]
