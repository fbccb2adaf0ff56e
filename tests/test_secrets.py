"""Secrets never appear in any output. Values are planted in the config (the Slack webhook), in
Secrets Manager (with a quote, a backslash, and a short one), in the environment, and the drill's
own Cognito test-user passwords; a login step fails on purpose; then `run`, `fault` (hard-killed),
`rollback`, `report` and `audit` run, and every file they wrote, everything they printed and every
Slack message is searched for each value in every form it could be written in."""

from __future__ import annotations

import json
import re
import signal
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import CFG, client, drill, start_drill, wait_journal

WEBHOOK_TOKEN = 'Pl4nt"ed\\Hook-7731'
ENV_SECRET = 'Env"Sec\\ret-5521zz'
SM_SECRET = 'SM"Va\\lue-9931-abc'
SM_SHORT = "Q9z"
COGNITO = re.compile(r"(Dr1ll-[A-Za-z0-9_-]{16}!a|Rst-[A-Za-z0-9_-]{16}!B2)")


def _forms(secret: str) -> set[str]:
    return {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], repr(secret)[1:-1],
            secret.replace("\\", "\\\\")}


def _slack(twin: Any) -> str:
    api, token = twin.info.slack_api, twin.info.slack_token
    out = []
    for method, args in (("conversations.list", ""),):
        req = urllib.request.Request(f"{api}/{method}{args}", headers={"Authorization": f"Bearer {token}"})
        channels = json.loads(urllib.request.urlopen(req, timeout=10).read())["channels"]
    for ch in channels:
        req = urllib.request.Request(f"{api}/conversations.history?channel={ch['id']}&limit=5000",
                                     headers={"Authorization": f"Bearer {token}"})
        out.append(urllib.request.urlopen(req, timeout=10).read().decode())
    return "\n".join(out)


def test_no_planted_secret_appears_anywhere(steady: dict[str, Any], twin: Any, account: dict[str, str],
                                           sandbox_env: dict[str, str], tmp_path: Path) -> None:
    sm = client(account, "secretsmanager", CFG.regions.primary.name)
    planted = CFG.secrets[2].name
    original = sm.get_secret_value(SecretId=planted)["SecretString"]
    sm.put_secret_value(SecretId=planted, SecretString=json.dumps({"key": SM_SECRET, "pin": SM_SHORT}))
    logins = [json.loads(sm.get_secret_value(SecretId=n)["SecretString"])["password"]
              for n in (CFG.rds.login_secret, CFG.rds.admin_secret)]
    webhook = twin.info.slack_api.removesuffix("/api") + "/services/T0DRILL/B0DRILL/" + WEBHOOK_TOKEN
    sets = ["--set", f"communication.webhook_url={json.dumps(webhook)}"]
    env = {**sandbox_env, "DRILL_API_SECRET": ENV_SECRET}
    outputs: dict[str, str] = {}
    try:
        reports = tmp_path / "reports"
        run = drill("run", "--cadence", "all", "-k", "data_match or synced_by_the_trigger", "--reports", str(reports),
                    *sets, "--set", "cognito.dr.client_name=NoSuchClient", env=env, timeout=600)
        outputs["run"] = run.stdout + run.stderr
        assert run.returncode == 1, outputs["run"][-3000:]  # the DR login step failed, on purpose
        assert re.search(r"scenario failed at step '.*(DR user pool|logs in)", run.stdout), run.stdout[-3000:]
        faults = tmp_path / "faults"
        proc = start_drill(["fault", "health_endpoint_failing", "--hold", "60", "--reports", str(faults), *sets], env)
        wait_journal(faults, proc, lambda e: e.event == "fault_injected", "the fault")
        proc.send_signal(signal.SIGKILL)
        outputs["fault"] = proc.communicate(timeout=30)[0]
        for name, args in (("rollback", ["rollback", "--reports", str(faults), *sets]),
                           ("report", ["report", str(next(p for p in reports.iterdir() if p.is_dir()))]),
                           ("audit", ["audit", "--json", *sets])):
            res = drill(*args, env=env, timeout=300)
            outputs[name] = res.stdout + res.stderr
            assert res.returncode in (0, 1), (name, outputs[name][-2000:])
        assert "undone: health_endpoint_failing-1" in outputs["rollback"]
        short = drill("config", "check", "--set", "communication.webhook_url=http://x/ab", env=env)
        assert short.returncode == 2 and "too short" in short.stderr, short.stderr
    finally:
        sm.put_secret_value(SecretId=planted, SecretString=original)
    files = {str(p): p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()}
    assert any(p.endswith("junit.xml") for p in files) and any(p.endswith("cucumber.json") for p in files)
    haystacks = {**files, **{f"output of {k}": v for k, v in outputs.items()}, "slack": _slack(twin)}
    assert "Block" in haystacks["slack"] or "blocks" in haystacks["slack"]  # the planted webhook was used
    for secret in (WEBHOOK_TOKEN, ENV_SECRET, SM_SECRET, *logins):
        for where, text in haystacks.items():
            for form in _forms(secret):
                assert form not in text, f"{secret[:4]}... leaked into {where}"
    for where, text in haystacks.items():
        assert f'"{SM_SHORT}"' not in text, f"the short secret leaked into {where} as a value"
        assert not COGNITO.search(text), f"a Cognito test password leaked into {where}"
    journal = next(Path(p) for p in files if p.endswith("journal.jsonl") and "/reports/" in p)
    assert any(json.loads(line).get("event") == "cognito_sign_up" for line in journal.read_text().splitlines())
