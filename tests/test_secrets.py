"""Secrets planted in the config, in Secrets Manager and in the environment never appear in any
file a drill writes or any message it sends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from drill.config import load_config
from sandbox.state import control
from tests.conftest import drill

CFG = load_config(profile="sandbox").config


def test_no_planted_secret_leaks(sandbox_env: dict[str, str], sandbox: dict[str, Any], tmp_path: Path) -> None:
    token = "XoXbPlantedWebhookToken7731"
    webhook = sandbox["slack_sink"].rsplit("/", 1)[0] + "/" + token
    env_secret = "PlantedEnvSecret-5521-zz"
    sm_secret = "PlantedSecretsManagerValue-9931"
    sm = boto3.client("secretsmanager", region_name=CFG.regions.primary.name, endpoint_url=sandbox["aws_endpoint"],
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    sm.put_secret_value(SecretId=CFG.secrets[0].name, SecretString=json.dumps({"password": sm_secret}))
    since = __import__("time").time()
    res = drill("run", "--cadence", "quarterly", "--reports", str(tmp_path), "--set",
                f"communication.webhook_url={webhook}", env={**sandbox_env, "DRILL_API_SECRET": env_secret},
                timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "journal.jsonl" for p in files) and any(p.name == "report.html" for p in files)
    messages = control(sandbox, "GET", f"/slack?since={since}")
    assert any(m["channel"] == "#infra-alerts" for m in messages)
    haystacks = {str(p): p.read_bytes().decode("utf-8", "replace") for p in files}
    haystacks["slack messages"] = json.dumps(messages, ensure_ascii=False)
    haystacks["stdout"] = res.stdout + res.stderr
    for secret in (token, env_secret, sm_secret, sandbox_secret_values(sandbox)):
        for where, text in haystacks.items():
            assert secret not in text, f"{secret[:6]}... leaked into {where}"
    # the planted webhook was really used: the plan's messages reached it
    events = [json.loads(line) for line in next(tmp_path.glob("*/journal.jsonl")).read_text().splitlines()]
    sent = [e for e in events if e["event"] == "notification" and e["status"] == "HTTP 200"]
    assert {e["stage"] for e in sent} >= {"outage_confirmed", "dr_declared", "switchover_done"}
    assert any(m["payload"].get("blocks") and "DR drill" in m["payload"]["text"] for m in messages)


def sandbox_secret_values(sandbox: dict[str, Any]) -> str:
    secrets = json.loads((Path(sandbox["runtime_dir"]) / "secrets.json").read_text())
    return str(secrets["app_password"])
