"""Root pytest configuration: shared options, hypothesis profiles, engine-call helpers.

Plugins: `conformance.plugin` adds the corpus options (--ethereum-tests,
--mainnet-blocks, --engine-threads, --rerun-parallel, --state-tests-sample).
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = []
if os.path.exists(os.path.join(os.path.dirname(__file__), "conformance", "plugin.py")):
    pytest_plugins.append("conformance.plugin")

