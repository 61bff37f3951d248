"""The ``registry`` command: serve the API, manage the database, and manage prompts as code.

Server commands (``serve``, ``db``, ``seed-demo``) work on the configured database.
Everything else talks to a running registry through the SDK (``--url`` or
``REGISTRY_URL``, default http://127.0.0.1:8000), except ``lint``, which runs offline.

The command needs the ``server`` extra; the SDK's own install (``pip install
prompt-registry``) has the ``registry`` script too, which then says what to install.
"""

import sys
from contextlib import suppress

# In an SDK-only install typer is missing: main() then says what to install.
with suppress(ModuleNotFoundError):
    from registry.cli.app import app

__all__ = ["app", "main"]

# The packages of the ``lint`` extra; any other missing one comes with ``server``.
_LINT_PACKAGES = frozenset({"re2", "py3langid", "numpy"})


def main() -> None:
    """The ``registry`` script: the command, or one line on the extra it needs."""
    try:
        from registry.cli.app import app

        app()
    except ModuleNotFoundError as exc:
        package = (exc.name or "").partition(".")[0]
        if not package or package == "registry":
            raise
        extra = "lint" if package in _LINT_PACKAGES else "server"
        sys.exit(
            f"registry: the command line needs the {extra!r} extra (no module named "
            f"{package!r}): pip install 'prompt-registry[{extra}]'"
        )
