"""report.md: the drill in plain text, for a ticket or a chat, rendered from a ``DrillResult``."""

from __future__ import annotations

import json

from drill.report.result import DrillResult, fmt, phase_failures


def _ranges(gaps: list[list[int]] | None) -> str:
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in (gaps or [])[:20])


def render_markdown(r: DrillResult) -> str:
    out = [f"# DR drill {r.drill_id}: {r.verdict.upper()}", ""]
    if not r.complete:
        out += ["> **Incomplete**: the journal ends before the drill finished.", ""]
    out += [f"- Policy: {r.policy}; target: {r.target}; cadence: {r.cadence}",
            f"- Started {r.started_at}, finished {r.finished_at}",
            f"- Regions: primary {(r.regions or {}).get('primary')}, DR {(r.regions or {}).get('dr')}", "",
            "## Verdict", ""] + [f"- {line}" for line in r.summary_lines] + [""]
    rto = r.rto
    out += ["## RTO", ""]
    if rto:
        out += [f"User-facing RTO (first failed request after the fault to the start of a {rto.get('window_s')} s window "
                f"with >= {rto.get('ratio')} success served by the DR region): **{fmt(rto.get('rto_s'))}** measured, "
                f"**{fmt(rto.get('projected_s'))}** on the policy's clocks, against a budget of {fmt(rto.get('budget_s'))}.", ""]
    out += ["Every clock this run shortened, and the projection onto the policy's:", "",
            "| clock | applied | policy | in the projection |", "|---|---|---|---|"]
    out += [f"| {c['name']} | {fmt(c['applied_s'])} | {fmt(c['policy_s'])} | "
            f"{('+' + fmt(c['policy_s'] - c['applied_s'])) if c['in_rto'] else 'not added'} |" for c in r.clocks]
    if rto:
        out.append(f"| **projected RTO** | {fmt(rto.get('rto_s'))} measured | **{fmt(rto.get('projected_s'))}** | |")
    out += ["", "| phase | started | duration | status | section-4 budget | verdict | users' requests failed |",
            "|---|---|---|---|---|---|---|"]
    out += [f"| {p['name']} | {p['started_at']} | {fmt(p['duration_s'])} | {p['status']} | "
            f"{fmt(p['budget_s']) if p.get('budget_s') is not None else '-'} | {p.get('verdict')} | "
            f"{phase_failures(p.get('traffic'))} |" for p in rto.get("phases", [])]
    out += ["", "## RPO per store", "",
            "| store | data-loss window | budget | acked | lost | indeterminate | after the fault | anomalies | verdict |",
            "|---|---|---|---|---|---|---|---|---|"]
    for store, x in r.rpo.items():
        window = "unbounded" if x.get("unbounded") else fmt(x.get("rpo_s"))
        anomalies = f"{len(x.get('failed_but_present') or [])} failed but present, {len(x.get('out_of_order') or [])} out of order"
        verdict = "met" if x.get("met") else "MISSED: " + "; ".join(x.get("problems") or [])
        out.append(f"| {store} | {window} | {fmt(x.get('budget_s'))} | {x.get('acked')} | {x.get('lost')} | "
                   f"{x.get('indeterminate')} | {x.get('after_fault')} | {anomalies} | {verdict} |")
    lost = {s: x for s, x in r.rpo.items() if x.get("lost")}
    if lost:
        out += ["", "Lost writes (sequence ranges): " + "; ".join(f"{s}: {_ranges(x.get('gaps'))}" for s, x in lost.items())]
    if r.failback.get("phases"):
        out += ["", "## Failback", "", "| phase | duration | measured | status |", "|---|---|---|---|"]
        out += [f"| {p['name']} | {fmt(p['duration_s'])} | {'measured' if p['measured'] else 'policy wait'} | "
                f"{p['status']} |" for p in r.failback["phases"]]
    out += ["", "## Checklist (policy section 8)", "", "| # | item | 항목 | status |", "|---|---|---|---|"]
    out += [f"| {c['id']} | {c['en']} | {c.get('ko', '')} | {c['status']} |" for c in r.checklist]
    out += ["", "| regular test | cadence | status |", "|---|---|---|"]
    out += [f"| {t['content']} ({t['key']}) | {t['cadence']} | {t['status']} |" for t in r.regular_tests]
    out += ["", "## Scenarios", "", "| scenario | feature | status | failing step and why |", "|---|---|---|---|"]
    for s in r.scenarios:
        why = (f"**{s['step']}**: " if s.get("step") else "") + (s.get("error") or "")
        out.append(f"| {s['name']} | {s['feature_file']} | {s['status']} | {why.replace('|', '/')} |")
    out += ["", "## Faults", "", "| fault | injected | reverted | heals itself |", "|---|---|---|---|"]
    out += [f"| {f['name']} | {f['injected_at']} | {f['reverted_at'] or 'NOT REVERTED'} | {f['heals'] or 'no'} |"
            for f in r.faults]
    out += ["", f"Rollback restored steady state: {r.restored}"]
    if r.runbook_left:
        out.append(f"Runbook changes still in place: {'; '.join(r.runbook_left)} (`{r.runbook_command}` returns them)")
    out += ["", "## Communication", "", "| at | stage | who | channel | message | after |", "|---|---|---|---|---|---|"]
    out += [f"| {m['at']} | {m['stage']} | {m['who']} | {m['channel']} | {m['text']} | {fmt(m['after_s'])}"
            f"{' (late)' if m['late'] else ''} |" for m in r.notifications]
    out += ["", "## Values applied", "", "```json", json.dumps(r.applied, indent=2, ensure_ascii=False), "```", "",
            "## Target and emulated parts", ""]
    out += [f"- {k}: {v}" for k, v in r.emulated.items()] or ["- none"]
    out += [f"- capabilities: {', '.join(r.capabilities) or 'none'}", "",
            f"External calls journaled: {r.external_calls}; canary writes: {r.canary_writes}", ""]
    return "\n".join(out)

