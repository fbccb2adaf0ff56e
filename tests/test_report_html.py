"""report.html opens offline in headless Chromium: the charts render and the verdict is visible.
A screenshot lands in tests/artifacts/ (CI keeps it with the log)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from drill.html import render_html, traffic_svg
from drill.journal import Journal
from drill.measure import Req, time_series
from drill.report import build_result, render

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _drill_journal(tmp_path: Path) -> Path:
    d = tmp_path / "20260101T000000Z-quarterly-abcd"
    j = Journal(d / "journal.jsonl")
    t0 = 1_800_000_000.0
    j.write("drill_started", drill_id=d.name, target="sandbox", cadence="quarterly", policy="PortForge",
            applied={"profile": "sandbox"}, checklist=[{"id": 1, "key": "k", "en": "Route 53 health check works",
                                                        "ko": "Route 53 Health Check 정상 동작"}],
            regular_tests=[], notices={"failover": {"en": "Service restored.", "ko": "서비스 복구 완료."}})
    j.write("scenario_started", nodeid="n", name="failover", feature="f", feature_file="features/x.feature",
            tags=["quarterly", "checklist_1"])
    reqs = [Req(t0 + i * 0.05, not (200 <= i < 300), "ap-northeast-2" if i < 200 else "ap-northeast-1")
            for i in range(600)]
    j.write("traffic_series", bucket_s=1.0, buckets=time_series(reqs))
    j.write("mark", name="fault", at=t0 + 10)
    j.write("phase", name="detection", started_at=t0 + 10, finished_at=t0 + 11.5, measured=True, status="ok")
    j.write("phase", name="declaration", started_at=t0 + 11.5, finished_at=t0 + 15.5, measured=False, status="ok")
    j.write("rto", rto_s=5.0, budget_s=2400, met=True, projected_s=1201.0, policy_wait_applied_s=4,
            policy_wait_s=1200, first_failure_at=t0 + 10, recovered_at=t0 + 15, window_s=3, ratio=0.99)
    j.write("rpo", store="rds", measured_s=3.0, budget_s=5, met=True, acked=100, lost=60, indeterminate=2,
            failed=1, stable=40, gaps=[[41, 100]], lost_seqs=list(range(41, 101)))
    j.write("scenario_finished", nodeid="n", name="failover", feature="f", feature_file="features/x.feature",
            tags=["quarterly", "checklist_1"], status="passed", error=None)
    j.write("drill_finished", status="finished")
    j.close()
    return d


def test_report_html_is_self_contained_and_in_both_languages(tmp_path: Path) -> None:
    d = _drill_journal(tmp_path)
    result = render(d)
    page = (d / "report.html").read_text()
    assert result["verdict"] == "pass"
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert re.search(r'<polyline fill="none" stroke="[^"]+" stroke-width="1.8" points="[\d., ]{20,}"', page)
    assert 'id="verdict" class="verdict pass">PASS' in page
    assert "Route 53 Health Check 정상 동작" in page
    ko = render_html(build_result(__import__("drill.journal", fromlist=["read_journal"]).read_journal(
        d / "journal.jsonl")), "ko")
    assert "판정" in ko and "서비스 복구 완료." in ko
    assert (tmp_path / "index.html").exists() and d.name in (tmp_path / "index.html").read_text()


def test_empty_traffic_renders_a_note() -> None:
    assert "No user traffic" in traffic_svg([], [])


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_headless_chromium_renders_charts_and_verdict(tmp_path: Path) -> None:
    d = _drill_journal(tmp_path)
    render(d)
    page = (d / "report.html").as_uri()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'chrome'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-500:]
    assert re.search(r"<svg[^>]*>.*<polyline[^>]*points=\"[\d., ]{20,}\"", dom.stdout, re.S), "no rendered chart"
    assert re.search(r'id="verdict"[^>]*>PASS<', dom.stdout)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    res = subprocess.run([CHROMIUM, *flags, "--window-size=1200,1600", f"--screenshot={shot}", page],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and shot.exists() and shot.stat().st_size > 10_000, res.stderr[-500:]
