"""The ``registry`` command: serve the API, manage the database, and manage prompts as code.

Server commands (``serve``, ``db``, ``seed-demo``) work on the configured database.
Everything else talks to a running registry through the SDK (``--url`` or
``REGISTRY_URL``, default http://127.0.0.1:8000), except ``lint``, which runs offline.
"""

from registry.cli.app import app

__all__ = ["app"]
