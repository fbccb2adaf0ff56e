"""bench/report.py still runs against the engine it times (it builds a drill's parts by hand, so a
new attribute of the engine once broke it unnoticed: `Traffic.workers`), and its measurement
finds the RTO and RPO it generated. At a small size here; its targets are printed, never asserted."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO


def test_the_report_bench_runs_and_measures_what_it_generated() -> None:
    res = subprocess.run([sys.executable, str(REPO / "bench" / "report.py"), "--requests", "20000", "--canaries",
                          "3000", "--seconds", "120"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert res.returncode == 0, res.stderr[-3000:]
    rto = re.search(r"RTO measured ([\d.]+) s \(synthetic ([\d.]+) s\)", res.stdout)
    assert rto, res.stdout
    assert abs(float(rto.group(1)) - float(rto.group(2))) < 0.5, rto.group(0)
    rpo = {s: (float(m), float(g)) for s, m, g in re.findall(r"(rds|dynamodb|s3) ([\d.]+) s \(synthetic ~([\d.]+) s\)",
                                                             res.stdout)}
    assert set(rpo) == {"rds", "dynamodb", "s3"}, res.stdout
    interval = float(re.search(r"canary interval ([\d.]+) s", res.stdout).group(1))  # type: ignore[union-attr]
    assert all(abs(m - g) <= 2 * interval for m, g in rpo.values()), (rpo, interval)  # within a write or two
