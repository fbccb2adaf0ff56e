"""report.html and reports/index.html: self-contained pages (inline CSS and SVG, no scripts,
no CDN), rendered from result.json data that itself comes from the journal alone."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2430}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dde}
table{border-collapse:collapse;width:100%;font-size:.9rem} td,th{border:1px solid #dde;padding:.3rem .5rem;text-align:left}
th{background:#f3f5f9} .verdict{display:inline-block;padding:.4rem 1rem;border-radius:6px;font-weight:700;font-size:1.3rem}
.pass{background:#d8f3dc;color:#1b5e20}.fail,.stopped{background:#fde2e1;color:#9b1c1c}.incomplete{background:#fff3cd;color:#7a5b00}
.met{color:#1b5e20;font-weight:600}.missed{color:#9b1c1c;font-weight:700}.muted{color:#667}
svg text{font-size:11px;fill:#445} .legend span{margin-right:1rem}
"""

COLORS = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b"]


def esc(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else (f"{x:.3f} s" if x < 10 else f"{x:.1f} s")


def traffic_svg(series: list[dict[str, Any]], marks: list[dict[str, Any]], width: int = 1040, height: int = 260) -> str:
    """Requests per second over time: successes per serving region, failures, and event markers."""
    if not series:
        return '<p class="muted">No user traffic in this drill.</p>'
    t0 = series[0]["t"]
    t1 = series[-1]["t"] + 1
    regions = sorted({r for b in series for r in b["by_region"] if r != "none"})
    peak = max(max(b["ok"] + b["failed"] for b in series), 1)
    left, top, plot_w, plot_h = 50, 20, width - 70, height - 60

    def x(t: float) -> float:
        return left + (t - t0) / max(t1 - t0, 1e-9) * plot_w

    def y(v: float) -> float:
        return top + plot_h - v / peak * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="requests per second by serving region">',
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafbfd" stroke="#dde"/>']
    for i in range(5):
        v = peak * i / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eef"/>'
                     f'<text x="4" y="{y(v) + 4:.1f}">{v:.0f}/s</text>')
    lines = [(f"ok {r}", COLORS[i % len(COLORS)], [b["by_region"].get(r, {}).get("ok", 0) for b in series])
             for i, r in enumerate(regions)]
    lines.append(("failed", "#d62728", [b["failed"] for b in series]))
    for _label, color, values in lines:
        pts = " ".join(f"{x(b['t'] + 0.5):.1f},{y(v):.1f}" for b, v in zip(series, values, strict=True))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{pts}"/>')
    for m in marks:
        if m.get("t") is None or not (t0 <= m["t"] <= t1):
            continue
        xm = x(m["t"])
        parts.append(f'<line x1="{xm:.1f}" x2="{xm:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#999" '
                     f'stroke-dasharray="4 3"/><text x="{xm + 3:.1f}" y="{top + plot_h + 14 + 12 * (marks.index(m) % 3)}">'
                     f'{esc(m["label"])}</text>')
    parts.append(f'<text x="{left}" y="{height - 4}">{series[0]["t"] - t0:.0f} s</text>'
                 f'<text x="{left + plot_w - 30}" y="{height - 4}">{t1 - t0:.0f} s</text></svg>')
    legend = "".join(f'<span style="color:{c}">&#9632; {esc(label)}</span>' for label, c, _ in lines)
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def timeline_svg(phases: list[dict[str, Any]], width: int = 1040) -> str:
    """The RTO phases as bars on one time axis (policy waits hatched grey)."""
    spans = [p for p in phases if p.get("t_start") is not None]
    if not spans:
        return ""
    t0 = min(p["t_start"] for p in spans)
    t1 = max(p["t_end"] for p in spans)
    left, plot_w, row = 110, width - 260, 22
    height = 20 + row * len(spans)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="RTO phases">']
    for i, p in enumerate(spans):
        xs = left + (p["t_start"] - t0) / max(t1 - t0, 1e-9) * plot_w
        w = max(2.0, (p["t_end"] - p["t_start"]) / max(t1 - t0, 1e-9) * plot_w)
        color = "#1f77b4" if p["measured"] else "#bbb"
        out.append(f'<text x="4" y="{18 + i * row}">{esc(p["name"])}</text>'
                   f'<rect x="{xs:.1f}" y="{6 + i * row}" width="{w:.1f}" height="16" fill="{color}"/>'
                   f'<text x="{xs + w + 4:.1f}" y="{18 + i * row}">{_fmt(p["duration_s"])}'
                   f'{"" if p["measured"] else " (policy wait)"}</text>')
    out.append("</svg>")
    return "".join(out)


LABELS = {
    "en": {"verdict": "Verdict", "rto": "RTO", "rpo": "RPO per store", "traffic": "User traffic",
           "checklist": "Checklist (policy section 8)", "faults": "Faults injected and undone",
           "comms": "Communication", "target": "Target and emulated parts", "scenarios": "Scenarios",
           "notice": "User notices (policy)"},
    "ko": {"verdict": "판정", "rto": "RTO (복구 시간)", "rpo": "저장소별 RPO (데이터 손실)", "traffic": "사용자 트래픽",
           "checklist": "체크리스트 (정책 8절)", "faults": "주입 및 복구된 장애", "comms": "커뮤니케이션",
           "target": "대상 및 에뮬레이션 구성요소", "scenarios": "시나리오", "notice": "사용자 공지 (정책)"},
}


def render_html(r: dict[str, Any], lang: str = "en") -> str:
    L = LABELS.get(lang, LABELS["en"])  # noqa: N806
    v = r["verdict"]
    rto = r["rto"]
    out = [f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>DR drill {esc(r["drill_id"])}</title>'
           f"<style>{CSS}</style></head><body>",
           f'<h1>DR drill {esc(r["drill_id"])}</h1><p class="muted">{esc(r["policy"])} · target {esc(r["target"])} · '
           f'cadence {esc(r["cadence"])} · {esc(r["started_at"])} → {esc(r["finished_at"])}</p>',
           f'<h2>{L["verdict"]}</h2><div id="verdict" class="verdict {esc(v)}">{esc(v.upper())}</div><ul>']
    out += [f"<li>{esc(line)}</li>" for line in r.get("summary_lines", [])]
    out.append("</ul>")
    if not r["complete"]:
        out.append('<p class="incomplete">The journal ends before the drill finished (crash or kill): '
                   "run <code>drill rollback</code>.</p>")
    out.append(f'<h2>{L["rto"]}</h2>')
    if rto.get("measured_s") is not None or rto.get("phases"):
        met = rto.get("met")
        out.append(f'<p>User-facing RTO measured <b>{_fmt(rto.get("measured_s"))}</b>; with the policy\'s '
                   f'{esc(rto.get("policy_wait_s"))} s declaration wait (this run applied '
                   f'{esc(rto.get("policy_wait_applied_s"))} s): <b>{_fmt(rto.get("projected_s"))}</b> against a budget '
                   f'of {_fmt(rto.get("budget_s"))}: <span class="{"met" if met else "missed"}">'
                   f'{"met" if met else "missed" if met is False else "n/a"}</span></p>')
        out.append(timeline_svg(rto.get("phases", [])))
        out.append("<table><tr><th>phase</th><th>duration</th><th></th><th>policy budget (section 4)</th></tr>"
                   + "".join(
                       f"<tr><td>{esc(p['name'])}</td><td>{_fmt(p['duration_s'])}</td>"
                       f"<td>{'measured' if p['measured'] else 'policy wait'}</td>"
                       + (f"<td class=\"{'met' if p.get('budget_met') else 'missed'}\">{_fmt(p['budget_s'])}: "
                          f"{'met' if p.get('budget_met') else 'MISSED'}</td>" if "budget_s" in p else "<td>-</td>")
                       + "</tr>" for p in rto.get("phases", []))
                   + "</table>")
    out.append(f'<h2>{L["rpo"]}</h2><table><tr><th>store</th><th>data-loss window</th><th>budget</th><th>acked</th>'
               "<th>lost</th><th>indeterminate</th><th>lost sequence ranges</th><th></th></tr>")
    for store, x in r["rpo"].items():
        gaps = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in (x.get("gaps") or [])[:10])
        out.append(f"<tr><td>{esc(store)}</td><td>{_fmt(x['measured_s'])}</td><td>{_fmt(x['budget_s'])}</td>"
                   f"<td>{x['acked']}</td><td>{x['lost']}</td><td>{x['indeterminate']}</td><td>{esc(gaps)}</td>"
                   f"<td class=\"{'met' if x['met'] else 'missed'}\">{'met' if x['met'] else 'MISSED'}</td></tr>")
    out.append("</table>")
    out.append(f'<h2>{L["traffic"]}</h2>' + traffic_svg(r.get("traffic", []), r.get("markers", [])))
    fb = r.get("failback") or {}
    if fb.get("phases"):
        out.append("<h2>Failback</h2>" + timeline_svg(fb["phases"]) + "<table><tr><th>store</th>"
                   "<th>written in DR (acked)</th><th>lost on the return</th><th>indeterminate</th></tr>" + "".join(
                       f"<tr><td>{esc(s)}</td><td>{v['acked']}</td><td>{v['lost']}</td><td>{v['indeterminate']}</td></tr>"
                       for s, v in (fb.get("rpo") or {}).items()) + "</table>")
    out.append(f'<h2>{L["checklist"]}</h2><table><tr><th>#</th><th>item</th><th>항목</th><th>status</th></tr>')
    for c in r.get("checklist", []):
        out.append(f"<tr><td>{c['id']}</td><td>{esc(c['en'])}</td><td>{esc(c.get('ko'))}</td><td>{esc(c['status'])}</td></tr>")
    out.append("</table><table><tr><th>regular test</th><th>cadence</th><th>status</th></tr>")
    for t in r.get("regular_tests", []):
        out.append(f"<tr><td>{esc(t['content'])}</td><td>{esc(t['cadence'])}</td><td>{esc(t['status'])}</td></tr>")
    out.append(f'</table><h2>{L["scenarios"]}</h2><table><tr><th>scenario</th><th>tags</th><th>status</th></tr>')
    for s in r["scenarios"]:
        out.append(f"<tr><td>{esc(s['name'])}</td><td>{esc(' '.join('@' + t for t in s.get('tags') or []))}</td>"
                   f"<td>{esc(s['status'])}{(': ' + esc(s['error'])) if s.get('error') else ''}</td></tr>")
    out.append(f'</table><h2>{L["faults"]}</h2><table><tr><th>fault</th><th>injected</th><th>reverted</th></tr>')
    for f in r["faults"]:
        out.append(f"<tr><td>{esc(f['name'])}</td><td>{esc(f['injected_at'])}</td>"
                   f"<td>{esc(f['reverted_at'] or 'NOT REVERTED')}</td></tr>")
    out.append(f"</table><p>Rollback restored steady state: {esc(r['restored'])}</p>")
    out.append(f'<h2>{L["comms"]}</h2><table><tr><th>at</th><th>stage</th><th>who</th><th>channel</th>'
               "<th>message</th><th>planned</th><th>after</th></tr>")
    for m in r.get("notifications", []):
        timing = _fmt(m.get("after_s")) + (" (late)" if m.get("late") else "")
        out.append(f"<tr><td>{esc(m['at'])}</td><td>{esc(m['stage'])}</td><td>{esc(m['who'])}</td>"
                   f"<td>{esc(m['channel'])}</td><td>{esc(m['text'])}</td><td>{esc(m['planned'])}</td>"
                   f"<td>{esc(timing)}</td></tr>")
    out.append("</table><table><tr><th>at</th><th>channel</th><th>message received by the webhook</th></tr>")
    for m in r.get("messages", []):
        out.append(f"<tr><td>{esc(m['at'])}</td><td>{esc(m['channel'])}</td><td>{esc(m['text'])}</td></tr>")
    out.append("</table>")
    notices = r.get("notices") or {}
    if notices:
        out.append(f'<h2>{L["notice"]}</h2><ul>' + "".join(
            f"<li>{esc(k)}: {esc(v.get(lang) or v.get('en'))}</li>" for k, v in notices.items()) + "</ul>")
    out.append(f'<h2>{L["target"]}</h2><ul>' + "".join(
        f"<li>{esc(k)}: {esc(v)}</li>" for k, v in (r.get("emulated") or {}).items()) + "</ul>")
    out.append(f'<p class="muted">Values applied: <code>{esc(json.dumps(r.get("applied"), ensure_ascii=False))}</code></p>')
    out.append("</body></html>")
    return "\n".join(out)


def render_index(reports: Path) -> Path:
    """reports/index.html: every drill so far, with RTO and RPO trends per cadence."""
    rows = []
    for res in sorted(reports.glob("*/result.json")):
        try:
            rows.append(json.loads(res.read_text()))
        except ValueError:
            continue
    parts = [f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>DR drills</title><style>{CSS}</style>'
             f"</head><body><h1>DR drills</h1><p class=\"muted\">{len(rows)} drills</p>"]
    for cadence in sorted({r.get("cadence") or "?" for r in rows}):
        mine = [r for r in rows if r.get("cadence") == cadence]
        rto_pts = [(r["started_at"], r["rto"].get("measured_s")) for r in mine if r["rto"].get("measured_s") is not None]
        rds_pts = [(r["started_at"], r["rpo"].get("rds", {}).get("measured_s")) for r in mine
                   if r["rpo"].get("rds", {}).get("measured_s") is not None]
        parts.append(f"<h2>{esc(cadence)}</h2>")
        parts.append(_trend_svg("RTO measured (s)", rto_pts) + _trend_svg("RPO rds (s)", rds_pts))
        parts.append("<table><tr><th>drill</th><th>started</th><th>verdict</th><th>RTO measured</th><th>RTO projected</th>"
                     "<th>RPO rds</th><th>RPO dynamodb</th><th>RPO s3</th></tr>")
        for r in reversed(mine):
            rpo = r.get("rpo", {})
            parts.append(f'<tr><td><a href="{esc(r["drill_id"])}/report.html">{esc(r["drill_id"])}</a></td>'
                         f'<td>{esc(r["started_at"])}</td><td class="{esc(r["verdict"])}">{esc(r["verdict"])}</td>'
                         f'<td>{_fmt(r["rto"].get("measured_s"))}</td><td>{_fmt(r["rto"].get("projected_s"))}</td>'
                         + "".join(f"<td>{_fmt(rpo.get(s, {}).get('measured_s'))}</td>" for s in ("rds", "dynamodb", "s3"))
                         + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    path = reports / "index.html"
    path.write_text("\n".join(parts))
    return path


def _trend_svg(title: str, pts: list[tuple[str, float]], width: int = 500, height: int = 120) -> str:
    if not pts:
        return ""
    peak = max(v for _, v in pts) or 1.0
    n = len(pts)
    coords = [(40 + (i / max(n - 1, 1)) * (width - 60), 15 + (height - 35) * (1 - v / peak)) for i, (_, v) in enumerate(pts)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f77b4"><title>{esc(t)}: {v:.3f} s</title></circle>'
                   for (x, y), (t, v) in zip(coords, pts, strict=True))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{esc(title)}">'
            f'<text x="4" y="12">{esc(title)} (max {peak:.2f})</text><polyline fill="none" stroke="#1f77b4" points="{line}"/>'
            f"{dots}</svg>")
