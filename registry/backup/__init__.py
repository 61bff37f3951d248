"""Backup and restore: the whole registry as one versioned JSON document."""

from registry.backup.export import dumps, export_registry, snapshot
from registry.backup.restore import import_registry
from registry.backup.schemas import FORMAT, FORMAT_VERSION, Backup, ImportSummary

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
