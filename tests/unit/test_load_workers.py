"""The load workers' Deployment as the drill writes it, and what a journal shows left behind."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from drill.core.config import load_config
from drill.core.journal import Event
from drill.ops.load_workers import deployment_name, left_behind, manifest


def _event(name: str, **data: Any) -> Event:
    return Event.model_validate({"ts": "2026-01-01T00:00:00Z", "t": 0.0, "mono": 0.0, "seq": 0, "event": name,
                                 **data})


def test_the_manifest_runs_the_configured_workers_against_the_master() -> None:
    cfg = load_config(None, "sandbox", ["load.mode=kubernetes", "load.workers=3",
                                        "load.kubernetes.master_host=10.0.0.5"]).config
    target: Any = SimpleNamespace(cfg=cfg)
    body = manifest(target, "20261129T061056Z-quarterly-be36", 6001, {"user_rps": 10})
    assert body["metadata"]["name"] == deployment_name("20261129T061056Z-quarterly-be36") == "drill-load-be36"
    assert body["spec"]["replicas"] == 3
    pod = body["spec"]["template"]
    assert body["spec"]["selector"]["matchLabels"] == pod["metadata"]["labels"]
    ct = pod["spec"]["containers"][0]
    k = cfg.load.kubernetes
    assert k is not None and ct["image"] == k.image
    assert ct["args"][ct["args"].index("--master-host") + 1] == "10.0.0.5"
    assert ct["args"][ct["args"].index("--master-port") + 1] == "6001"
    assert ct["resources"]["limits"] == {"cpu": k.cpu, "memory": k.memory}
    assert {"name": "DRILL_PROFILE", "value": '{"user_rps": 10}'} in ct["env"]


def test_a_journal_shows_which_workers_are_left_and_whether_their_namespace_was_created() -> None:
    deploying = _event("load_workers_deploying", cluster="c", namespace="drill-load", deployment="drill-load-ab12")
    intent = _event("k8s_call", cluster="c", operation="create_namespace", namespace="drill-load")
    created = _event("load_workers_namespace_created", namespace="drill-load")
    assert left_behind([deploying]) == [{"namespace": "drill-load", "deployment": "drill-load-ab12",
                                         "namespace_created": False}]
    # the call journaled but not known to have succeeded (a 409: someone else's): the namespace stays
    assert left_behind([deploying, intent])[0]["namespace_created"] is False
    assert left_behind([deploying, intent, created])[0]["namespace_created"] is True
    removed = _event("load_workers_removed", namespace="drill-load", deployment="drill-load-ab12")
    assert left_behind([deploying, intent, created, removed]) == []
