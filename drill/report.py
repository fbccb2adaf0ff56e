"""Drill reports, rendered from the journal alone: result.json and report.md.

A journal cut short by a crash still renders; the report then says it is incomplete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drill.journal import Event, iso, read_journal


def _iso(t: float | None) -> str | None:
    return iso(t) if t else None


def build_result(events: list[Event]) -> dict[str, Any]:
    first = next((e for e in events if e.event == "drill_started"), None)
    last = next((e for e in reversed(events) if e.event == "drill_finished"), None)
    result: dict[str, Any] = {
        "drill_id": first.get("drill_id") if first else None,
        "target": first.get("target") if first else None,
        "cadence": first.get("cadence") if first else None,
        "started_at": first.ts if first else (events[0].ts if events else None),
        "finished_at": last.ts if last else (events[-1].ts if events else None),
        "complete": last is not None,
        "status": last.get("status") if last else "incomplete",
        "policy": first.get("policy") if first else None,
        "applied": first.get("applied") if first else None,
        "policy_waits": first.get("policy_waits") if first else None,
        "applied_waits": first.get("applied_waits") if first else None,
        "regions": first.get("regions") if first else None,
    }
    target_ev = next((e for e in events if e.event == "target_ready"), None)
    result["emulated"] = target_ev.get("emulated") if target_ev else {}

    scenarios: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.event == "scenario_started":
            scenarios[e.get("nodeid")] = {"name": e.get("name"), "feature": e.get("feature"),
                                          "feature_file": e.get("feature_file"), "tags": e.get("tags"),
                                          "status": "incomplete", "error": None}
        elif e.event == "scenario_finished" and e.get("nodeid") in scenarios:
            scenarios[e.get("nodeid")].update(status=e.get("status"), error=e.get("error"))
    result["scenarios"] = list(scenarios.values())
    result["checklist"] = _trace([dict(c, tag=f"checklist_{c['id']}") for c in (first.get("checklist") if first else [])
                                  or []], result["scenarios"])
    result["regular_tests"] = _trace([dict(t, tag=t["key"]) for t in (first.get("regular_tests") if first else [])
                                      or []], result["scenarios"])

    phases = [{"name": e.get("name"), "started_at": _iso(e.get("started_at")),
               "finished_at": _iso(e.get("finished_at")), "t_start": e.get("started_at"), "t_end": e.get("finished_at"),
               "duration_s": round(e.get("finished_at") - e.get("started_at"), 3),
               "measured": e.get("measured"), "status": e.get("status"), "detail": e.get("detail")}
              for e in events if e.event == "phase"]
    rto_ev = next((e for e in reversed(events) if e.event == "rto"), None)
    result["failback"] = {"phases": [p for p in phases if str(p["name"]).startswith("failback")],
                          "rpo": {e.get("store"): {k: e.get(k) for k in ("measured_s", "acked", "lost", "indeterminate",
                                                                           "gaps")}
                                  for e in events if e.event == "rpo_failback"}}
    phases = [p for p in phases if not str(p["name"]).startswith("failback")]
    if rto_ev is not None and rto_ev.get("fault_at"):
        # the phases of the failover this RTO measured (a run of several cadences has others)
        phases = [p for p in phases if (p["t_start"] or 0) >= rto_ev.get("fault_at") - 1e-3]
    if rto_ev is not None:
        result["rto"] = {"measured_s": rto_ev.get("rto_s"), "budget_s": rto_ev.get("budget_s"),
                         "met": rto_ev.get("met"), "projected_s": rto_ev.get("projected_s"),
                         "policy_wait_applied_s": rto_ev.get("policy_wait_applied_s"),
                         "policy_wait_s": rto_ev.get("policy_wait_s"),
                         "first_failure_at": _iso(rto_ev.get("first_failure_at")),
                         "recovered_at": _iso(rto_ev.get("recovered_at")),
                         "success_window_s": rto_ev.get("window_s"), "success_ratio": rto_ev.get("ratio"),
                         "requests_after_fault": rto_ev.get("requests_after_fault"),
                         "failed_after_fault": rto_ev.get("failed_after_fault"),
                         "phases": phases}
    else:
        result["rto"] = {"measured_s": None, "budget_s": None, "met": None, "phases": phases}
    # section 4's budget, phase by phase: a measured phase by its duration, a policy wait by the
    # policy's own value (this run may have applied a shorter one)
    phase_budgets = {b["name"]: b for b in ((first.get("budgets") if first else None) or {}).get("rto_phases", [])}
    for p in result["rto"]["phases"]:
        b = phase_budgets.get(p["name"])
        if b is None:
            continue
        value = p["duration_s"] if p["measured"] else result["rto"].get("policy_wait_s")
        p["budget_s"] = b["budget_s"]
        p["budget_label"] = b.get("label", "")
        p["budget_met"] = None if value is None else float(value) <= float(b["budget_s"])

    rpo: dict[str, Any] = {}
    for e in events:
        if e.event == "rpo":
            data = dict(e.model_extra or {})
            store = data.pop("store")
            rpo[store] = {"measured_s": data.get("measured_s"), "budget_s": data.get("budget_s"),
                          "met": data.get("met"), "acked": data.get("acked"), "lost": data.get("lost"),
                          "indeterminate": data.get("indeterminate"), "failed": data.get("failed"),
                          "stable": data.get("stable"), "lost_seqs": data.get("lost_seqs"),
                          "gaps": data.get("gaps"), "newest_acked_at": _iso(data.get("newest_acked_at")),
                          "newest_surviving_at": _iso(data.get("newest_surviving_at")),
                          "no_surviving_write": data.get("no_surviving_write")}
    result["rpo"] = rpo

    faults: dict[str, dict[str, Any]] = {}
    for e in events:
        fid = e.get("fault_id")
        if e.event == "fault_planned":
            faults[fid] = {"name": e.get("name"), "fault_id": fid, "params": e.get("params"),
                           "planned_at": e.ts, "injected_at": None, "reverted_at": None}
        elif e.event == "fault_injected" and fid in faults:
            faults[fid]["injected_at"] = e.ts
        elif e.event == "fault_reverted" and fid in faults:
            faults[fid]["reverted_at"] = e.ts
        elif e.event == "fault_revert_failed" and fid in faults:
            faults[fid]["revert_error"] = e.get("error")
    result["faults"] = list(faults.values())
    restored = [e for e in events if e.event == "restored"]
    result["restored"] = all(e.get("ok") for e in restored) if restored else None
    series = [e for e in events if e.event == "traffic_series"]
    result["traffic"] = series[-1].get("buckets") if series else []
    labels = {"fault": "fault", "detected": "detection", "declared": "declaration", "promoted": "promotion",
              "dns_switched": "DNS switch", "verified": "verified"}
    result["markers"] = [{"label": labels[e.get("name")], "t": e.t} for e in events
                         if e.event == "mark" and e.get("name") in labels]
    if rto_ev is not None and rto_ev.get("recovered_at"):
        result["markers"].append({"label": "recovery", "t": rto_ev.get("recovered_at")})
    result["messages"] = [{"at": _iso(e.get("at")), "channel": e.get("channel"), "text": e.get("text")}
                          for e in events if e.event == "slack_message"]
    result["notifications"] = [{"at": e.ts, **{k: e.get(k) for k in ("stage", "channel", "who", "text", "planned",
                                                                     "after_s", "within_s", "late", "status")}}
                               for e in events if e.event == "notification"]
    result["notices"] = first.get("notices") if first else {}
    stops = [e for e in events if e.event == "stop_condition"]
    result["stopped_by"] = {"condition": stops[0].get("condition"), "detail": stops[0].get("detail"),
                            "at": stops[0].ts} if stops else None
    result["external_calls"] = sum(1 for e in events if e.event in ("aws_call", "k8s_call", "sandbox_call"))
    result["verdict"] = _verdict(result)
    result["summary_lines"] = _summary(result)
    return result


def _trace(items: list[dict[str, Any]], scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each policy item with the scenarios tagged for it in this drill, and their combined status."""
    out = []
    for item in items:
        tag = item.pop("tag")
        ran = [s for s in scenarios if tag in (s.get("tags") or [])]
        if not ran:
            status = "not in this drill"
        elif all(s["status"] == "passed" for s in ran):
            status = "passed"
        else:
            status = "failed"
        out.append({**item, "status": status, "scenarios": [s["name"] for s in ran]})
    return out


def _verdict(r: dict[str, Any]) -> str:
    if not r["complete"]:
        return "incomplete"
    if r.get("stopped_by"):
        return "stopped"
    if not r["scenarios"] or any(s["status"] != "passed" for s in r["scenarios"]):
        return "fail"
    if r["rto"].get("met") is False or any(v.get("met") is False for v in r["rpo"].values()):
        return "fail"
    if r["restored"] is False or any(f["injected_at"] and not f["reverted_at"] for f in r["faults"]):
        return "fail"
    return "pass"


def _phase_budget(p: dict[str, Any]) -> str:
    if "budget_s" not in p:
        return "-"
    verdict = {True: "met", False: "MISSED", None: "n/a"}[p.get("budget_met")]
    return f"{_fmt(p['budget_s'])}: {verdict}"


def _fmt(x: float | None, unit: str = "s") -> str:
    return "n/a" if x is None else f"{x:.3f} {unit}" if x < 10 else f"{x:.1f} {unit}"


def _summary(r: dict[str, Any]) -> list[str]:
    lines = []
    if r.get("stopped_by"):
        lines.append(f"STOPPED by {r['stopped_by']['condition']}: {r['stopped_by']['detail']} (rollback ran)")
    rto = r["rto"]
    if rto.get("measured_s") is not None or rto.get("budget_s"):
        lines.append(f"RTO (user-facing): {_fmt(rto.get('measured_s'))} measured, "
                     f"{_fmt(rto.get('projected_s'))} with the policy's waits, budget {_fmt(rto.get('budget_s'))}: "
                     f"{'met' if rto.get('met') else 'MISSED'}")
    for store, v in r["rpo"].items():
        verdict = "met" if v["met"] else f"MISSED by {_fmt((v['measured_s'] or 0) - (v['budget_s'] or 0))}"
        lines.append(f"RPO {store}: {_fmt(v['measured_s'])} (budget {_fmt(v['budget_s'])}), "
                     f"{v['lost']} of {v['acked']} acknowledged writes lost, "
                     f"{v['indeterminate']} indeterminate: {verdict}")
    fb = r.get("failback") or {}
    if fb.get("rpo"):
        lines.append("Failback: writes made in DR and lost on the return: " + ", ".join(
            f"{store} {v['lost']} of {v['acked']}" for store, v in fb["rpo"].items()))
    for s in r["scenarios"]:
        if s["status"] != "passed":
            lines.append(f"scenario {s['status']}: {s['name']}: {s['error'] or ''}"[:300])
    if r["restored"] is False:
        lines.append("rollback did NOT restore steady state")
    if not r["complete"]:
        lines.append("journal is incomplete: the drill did not finish (crash or kill); run `drill rollback`")
    return lines


def render_markdown(r: dict[str, Any]) -> str:
    v = r["verdict"].upper()
    out = [f"# DR drill {r['drill_id']}: {v}", ""]
    if not r["complete"]:
        out += ["> **Incomplete**: the journal ends before the drill finished.", ""]
    out += [f"- Policy: {r['policy']}; target: {r['target']}; cadence: {r['cadence']}",
            f"- Started {r['started_at']}, finished {r['finished_at']}",
            f"- Regions: primary {(r['regions'] or {}).get('primary')}, DR {(r['regions'] or {}).get('dr')}", ""]
    out += ["## Verdict", ""] + [f"- {line}" for line in r["summary_lines"]] + [""]
    rto = r["rto"]
    out += ["## RTO", "",
            f"User-facing RTO (first failed request after the fault to the start of a {rto.get('success_window_s')} s "
            f"window with >= {rto.get('success_ratio')} success served by the DR region): "
            f"**{_fmt(rto.get('measured_s'))}**.",
            "",
            f"Policy waits are shown as policy: this run applied a declaration wait of "
            f"{rto.get('policy_wait_applied_s')} s where the policy says {rto.get('policy_wait_s')} s; "
            f"with the policy's wait the RTO would be **{_fmt(rto.get('projected_s'))}** "
            f"against a budget of {_fmt(rto.get('budget_s'))}.", "",
            "| phase | started | duration | measured | status | policy budget (section 4) |", "|---|---|---|---|---|---|"]
    for p in rto.get("phases", []):
        out.append(f"| {p['name']} | {p['started_at']} | {_fmt(p['duration_s'])} | "
                   f"{'measured' if p['measured'] else 'policy wait'} | {p['status']} | {_phase_budget(p)} |")
    out += ["", "## RPO per store", "",
            "| store | data-loss window | budget | acked | lost | indeterminate | failed | verdict |",
            "|---|---|---|---|---|---|---|---|"]
    for store, x in r["rpo"].items():
        out.append(f"| {store} | {_fmt(x['measured_s'])} | {_fmt(x['budget_s'])} | {x['acked']} | {x['lost']} | "
                   f"{x['indeterminate']} | {x['failed']} | {'met' if x['met'] else 'MISSED'} |")
    lost = {s: x for s, x in r["rpo"].items() if x["lost"]}
    if lost:
        out += ["", "Lost writes (sequence ranges): " + "; ".join(
            f"{s}: " + ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in x["gaps"][:20]) for s, x in lost.items())]
    fb = r.get("failback") or {}
    if fb.get("phases"):
        out += ["", "## Failback", "", "| phase | duration | measured | status |", "|---|---|---|---|"]
        out += [f"| {p['name']} | {_fmt(p['duration_s'])} | {'measured' if p['measured'] else 'policy wait'} | "
                f"{p['status']} |" for p in fb["phases"]]
    out += ["", "## Checklist (policy section 8)", "", "| # | item | 항목 | status |", "|---|---|---|---|"]
    for c in r.get("checklist", []):
        out.append(f"| {c['id']} | {c['en']} | {c.get('ko', '')} | {c['status']} |")
    out += ["", "| regular test | cadence | status |", "|---|---|---|"]
    for t in r.get("regular_tests", []):
        out.append(f"| {t['content']} ({t['key']}) | {t['cadence']} | {t['status']} |")
    out += ["", "## Scenarios", "", "| scenario | feature | tags | status |", "|---|---|---|---|"]
    for s in r["scenarios"]:
        out.append(f"| {s['name']} | {s['feature_file']} | {' '.join('@' + t for t in s['tags'] or [])} | "
                   f"{s['status']} |")
    out += ["", "## Faults", "", "| fault | injected | reverted |", "|---|---|---|"]
    for f in r["faults"]:
        out.append(f"| {f['name']} | {f['injected_at']} | {f['reverted_at'] or 'NOT REVERTED'} |")
    out += ["", f"Rollback restored steady state: {r['restored']}", "", "## Communication", "",
            "| at | stage | who | channel | message | after |", "|---|---|---|---|---|---|"]
    for m in r.get("notifications", []):
        out.append(f"| {m['at']} | {m['stage']} | {m['who']} | {m['channel']} | {m['text']} | "
                   f"{_fmt(m['after_s'])}{' (late)' if m['late'] else ''} |")
    out += ["",
            "## Values applied", "", "```json", json.dumps(r["applied"], indent=2, ensure_ascii=False), "```", "",
            "## Emulated parts", ""]
    out += [f"- {k}: {v}" for k, v in (r["emulated"] or {}).items()] or ["- none"]
    out += ["", f"External calls journaled: {r['external_calls']}", ""]
    return "\n".join(out)


def render(drill_dir: Path, lang: str = "en") -> dict[str, Any]:
    from drill.html import render_html, render_index

    events = read_journal(drill_dir / "journal.jsonl")
    result = build_result(events)
    (drill_dir / "result.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    (drill_dir / "report.md").write_text(render_markdown(result))
    (drill_dir / "report.html").write_text(render_html(result, lang))
    render_index(drill_dir.parent)
    return result
