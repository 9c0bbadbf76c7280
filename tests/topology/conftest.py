"""The production topology (scripts/topology/topology.py) started once for these tests.

Skipped unless EMEGALIS_TOPOLOGY=1 (set by .ci/run): they need PostgreSQL on 127.0.0.1:5432
and Debian's haproxy, and they take about a minute to start everything."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_topology_module():
    spec = importlib.util.spec_from_file_location(
        "emegalis_topology", ROOT / "scripts" / "topology" / "topology.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def pytest_collection_modifyitems(config, items):
    if os.environ.get("EMEGALIS_TOPOLOGY") == "1":
        return
    skip = pytest.mark.skip(reason="topologie de production : EMEGALIS_TOPOLOGY=1 pour la lancer")
    for item in items:
        if "topology" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def topology():
    module = _load_topology_module()
    running = module.Topology(gunicorn_workers=2).start()
    try:
        yield running
    finally:
        running.stop()
