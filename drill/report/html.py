"""report.html and reports/index.html from Jinja2 templates (``templates/``): self-contained pages
(inline CSS and SVG, no scripts, no CDN), rendered from a ``DrillResult``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from drill.report.charts import timeline_svg, traffic_svg, trend_svg
from drill.report.result import DrillResult, fmt, phase_failures

LABELS = {
    "en": {"verdict": "Verdict", "rto": "RTO", "rpo": "RPO per store", "traffic": "User traffic",
           "checklist": "Checklist (policy section 8)", "faults": "Faults injected and undone",
           "comms": "Communication", "target": "Target and emulated parts", "scenarios": "Scenarios",
           "notice": "User notices (policy)"},
    "ko": {"verdict": "판정", "rto": "RTO (복구 시간)", "rpo": "저장소별 RPO (데이터 손실)", "traffic": "사용자 트래픽",
           "checklist": "체크리스트 (정책 8절)", "faults": "주입 및 복구된 장애", "comms": "커뮤니케이션",
           "target": "대상 및 에뮬레이션 구성요소", "scenarios": "시나리오", "notice": "사용자 공지 (정책)"},
}


class _Obj(dict[str, Any]):
    """A dict whose keys read as attributes in templates, nested, missing keys as None."""

    def __getattr__(self, name: str) -> Any:
        return _wrap(self.get(name))


def _wrap(x: Any) -> Any:
    if isinstance(x, dict):
        return _Obj(x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _ranges(gaps: list[list[int]] | None) -> str:
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in (gaps or [])[:10])


def _env() -> Environment:
    env = Environment(loader=PackageLoader("drill.report", "templates"), autoescape=select_autoescape(["j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(fmt=fmt, phase_failures=phase_failures, timeline=timeline_svg, traffic=traffic_svg, trend=trend_svg, ranges=_ranges)
    env.filters["add_at"] = lambda t: f"@{t}"
    return env


def render_html(r: DrillResult, lang: str = "en") -> str:
    return _env().get_template("report.html.j2").render(r=_wrap(r.to_dict()), lang=lang,
                                                       L=LABELS.get(lang, LABELS["en"]))


def index_rows(results: list[dict[str, Any]], link: str = "{id}/report.html") -> list[dict[str, Any]]:
    rows = []
    for r in sorted(results, key=lambda x: str(x.get("started_at"))):
        rpo, rto = r.get("rpo") or {}, r.get("rto") or {}
        row = {"id": r.get("drill_id"), "cadence": r.get("cadence") or "?", "started": r.get("started_at"),
               "verdict": r.get("verdict"), "rto_s": rto.get("rto_s"), "projected_s": rto.get("projected_s"),
               **{f"{s}_s": (rpo.get(s) or {}).get("rpo_s") for s in ("rds", "dynamodb", "s3")},
               "link": link.format(id=r.get("drill_id"))}
        row["point_rto"], row["point_rds"] = (row["started"], row["rto_s"]), (row["started"], row["rds_s"])
        rows.append(row)
    return rows


def render_index_html(rows: list[dict[str, Any]], source: str = "") -> str:
    cadences = sorted({r["cadence"] for r in rows})
    return _env().get_template("index.html.j2").render(
        rows=rows, source=source, by_cadence=[(c, [_Obj(r) for r in rows if r["cadence"] == c]) for c in cadences])


def render_index(reports: Path) -> Path:
    """reports/index.html: every drill in this folder, with RTO and RPO trends per cadence."""
    results = []
    for res in sorted(reports.glob("*/result.json")):
        try:
            results.append(json.loads(res.read_text()))
        except ValueError:
            continue
    path = reports / "index.html"
    path.write_text(render_index_html(index_rows(results)))
    return path
