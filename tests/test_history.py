"""History that outlives the runner: two drills run from two machines (two report folders) publish
to one S3 location (the twin's S3, which outlives each drill), and the second machine's index
shows both, read back from S3, each linked where a browser opens it."""

from __future__ import annotations

import html
import json
import re
import urllib.request
from pathlib import Path

from tests.conftest import CFG, client, drill, only_drill

BUCKET = "drill-history-test"


def test_two_machines_publish_to_one_history(account: dict[str, str], sandbox_env: dict[str, str],
                                             tmp_path: Path) -> None:
    s3 = client(account, "s3", CFG.regions.primary.name)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": CFG.regions.primary.name})
    ids = []
    for machine in ("first", "second"):
        reports = tmp_path / machine
        res = drill("run", "--cadence", "quarterly", "-k", "synced_by_the_trigger", "--reports", str(reports),
                    "--set", f"history.bucket={BUCKET}", env=sandbox_env, timeout=300)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-1000:]
        folder = only_drill(reports)
        ids.append(folder.name)
        assert f"published: s3://{BUCKET}/drill-reports/{folder.name}/" in res.stdout
        events = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
        puts = [e for e in events if e["event"] == "aws_call" and e["operation"] == "PutObject"
                and (e.get("resources") or {}).get("Bucket") == BUCKET]
        assert len(puts) >= 4 and events[-1]["event"] == "history_published"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {f"drill-reports/{i}/result.json" for i in ids} <= keys
    index = (tmp_path / "second" / "index.html").read_text()
    assert all(i in index for i in ids), "the second machine's index misses the first machine's drill"
    assert not (tmp_path / "second" / ids[0]).exists()
    # the first machine's drill links to its published report where a browser opens it
    link = next((html.unescape(h) for h in re.findall(r'href="([^"]+)"', index) if f"/{ids[0]}/report.html" in h), None)
    assert link and link.startswith(account["AWS_ENDPOINT_URL"].rstrip("/")), f"no browsable link to {ids[0]}"
    with urllib.request.urlopen(link, timeout=10) as resp:
        assert ids[0] in resp.read().decode()

