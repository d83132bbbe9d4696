"""Loaded with ``-p tests.testenv`` (pyproject addopts) before Django is set up.

Tests must never write into the checkout's ``var/`` nor reach the real API, whatever the shell
running them has set.
"""

import os
import tempfile

os.environ["ERKWEB_DATA_DIR"] = tempfile.mkdtemp(prefix="erkweb-tests-")
for name in (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "DATABASE_URL",
    "ERKWEB_REDIS_URL",
):
    os.environ.pop(name, None)
for name in [name for name in os.environ if name.startswith("ERKWEB_MODEL")]:
    os.environ.pop(name)
# Nothing listens here: a test that needs the simulator starts its own and says where.
os.environ["ERKWEB_SIMULATOR_URL"] = "http://127.0.0.1:9"
