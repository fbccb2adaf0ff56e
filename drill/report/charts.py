"""The report's charts as inline SVG (no scripts, no CDN): requests per second by serving region
with the drill's events, the phases on one time axis, and a trend across drills."""

from __future__ import annotations

import html
from typing import Any

from drill.report.result import fmt as _fmt


def esc(x: Any) -> str:
    return html.escape("" if x is None else str(x))


COLORS = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b"]




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


def trend_svg(title: str, pts: list[tuple[str, float]], width: int = 500, height: int = 120) -> str:
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
