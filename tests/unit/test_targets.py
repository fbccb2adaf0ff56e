"""The target registry and what each target says before one is made; a LocalStack routing the
harness knows cannot work is refused as bad input before LocalStack is even asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drill.core.config import load_config
from drill.core.errors import InvalidInput
from drill.targets.factory import NAMES, capabilities_of, target_class, twin_routing
from drill.targets.localstack import KNOWN_BROKEN, detect_localstack


def test_every_target_name_is_one_class_with_its_planned_capabilities() -> None:
    assert NAMES == ("sandbox", "localstack", "aws")
    assert {target_class(n).name for n in NAMES} == set(NAMES)
    assert "twin" in capabilities_of("sandbox") and "pause:dynamodb" in capabilities_of("sandbox")
    assert "twin" in capabilities_of("localstack") and "pause:dynamodb" not in capabilities_of("localstack")
    assert "destructive_confirm" in capabilities_of("aws") and "twin" not in capabilities_of("aws")
    with pytest.raises(InvalidInput, match="unknown"):
        target_class("staging")


def test_only_a_target_with_a_twin_has_a_twin_routing() -> None:
    loaded = load_config(None, "sandbox")
    assert twin_routing("sandbox", loaded) is None
    with pytest.raises(InvalidInput, match="no sandbox"):
        twin_routing("aws", loaded)


@pytest.mark.parametrize("service", sorted(KNOWN_BROKEN))
def test_a_service_localstack_cannot_serve_is_refused_with_the_reason(service: str) -> None:
    cfg = load_config(None, "localstack", [f"localstack.services=['s3', '{service}']"]).config
    with pytest.raises(InvalidInput, match=f"lists {service}, which stays with the twin"):
        detect_localstack(cfg)


def test_load_workers_in_a_remote_cluster_cannot_use_a_loopback_master(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from drill.targets.aws import AwsTarget

    cluster = load_config(None, None).config.eks.dr.cluster
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": cluster,
        "clusters": [{"name": cluster, "cluster": {"server": "https://10.20.30.40"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": "u"}}]}))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    loaded = load_config(None, "aws", ["load.mode=kubernetes", "load.workers=2"])
    with pytest.raises(InvalidInput, match="cannot reach the master at 127.0.0.1"):
        AwsTarget(loaded)  # refused before any call to the account
