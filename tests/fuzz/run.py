"""The longer fuzz run: ``python tests/fuzz/run.py [EXAMPLES] [pytest args…]``.

EXAMPLES (default 200) requests per operation and generation mode; set
``REGISTRY_TEST_DATABASE_URL`` to fuzz PostgreSQL too, ``REGISTRY_FUZZ_SEED`` to vary the data.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

if __name__ == "__main__":
    args = sys.argv[1:]
    examples = args.pop(0) if args and args[0].isdigit() else "200"
    os.environ["REGISTRY_FUZZ_EXAMPLES"] = examples
    here = Path(__file__).parent
    os.chdir(here.parent.parent)
    sys.exit(pytest.main([str(here / "test_fuzz_api.py"), "-q", *args]))
