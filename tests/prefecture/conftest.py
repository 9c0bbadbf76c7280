from tests.actes.conftest import (  # noqa: F401 — the same fixtures as the actes tests
    actes_settings,
    agent,
    agent_client,
    commune,
    every_stored_archive_is_valid,
    new_client,
    prefect_agent,
    prefecture,
    run_commits,
    wire,
)
