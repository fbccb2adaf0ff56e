"""locust as the drill runs it: in its own processes, one headless or a master with workers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from drill.config import load_config
from drill.load import LoadRunner


@pytest.mark.parametrize("workers", [0, 2])
def test_locust_traffic_reaches_the_edge_and_every_process_logs(workers: int, sandbox: dict[str, Any],
                                                                tmp_path: Path) -> None:
    cfg = load_config(None, "sandbox").config
    runner = LoadRunner(sandbox["edge_url"], tmp_path, api_host=cfg.fqdn("api"), grafana_host=cfg.fqdn("grafana"),
                        users=6, spawn_rate=6, user_rps=5, workers=workers, max_run_s=60)
    runner.start()
    try:
        assert runner.wait_for_traffic(60), (tmp_path / "locust.out").read_text()
        time.sleep(3)
    finally:
        runner.stop()
    assert all(p.poll() is not None for p in runner.procs)  # nothing left running
    records = runner.records()
    # requests logged by each process that sends them: the single process, or every worker (the
    # master only coordinates: its log stays empty)
    assert len([p for p in runner.log_paths() if p.stat().st_size > 0]) == max(1, workers)
    assert len(runner.procs) == 1 + workers
    assert len(records) > 20
    assert all(r.ok and r.region == cfg.regions.primary.name for r in records), records[:5]
