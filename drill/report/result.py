"""A drill's result, built from its journal alone in one pass (a journal of hundreds of MB is read
as a stream: canary records are counted, never held). A journal cut short by a crash still
builds; the result then says it is incomplete. Every report format renders a ``DrillResult``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from drill.core.journal import Event, iso

PHASE_LABELS = {"fault": "fault", "detected": "detection", "declared": "declaration", "promoted": "promotion",
                "dns_switched": "DNS switch", "verified": "verified"}


def _iso(t: float | None) -> str | None:
    return iso(t) if t else None


@dataclass
class DrillResult:
    drill_id: str | None = None
    target: str | None = None
    cadence: str | None = None
    policy: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    complete: bool = False
    status: str = "incomplete"
    applied: dict[str, Any] | None = None
    regions: dict[str, str] | None = None
    clocks: list[dict[str, Any]] = field(default_factory=list)
    emulated: dict[str, str] = field(default_factory=dict)
    capabilities: list[str] = field(default_factory=list)
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    checklist: list[dict[str, Any]] = field(default_factory=list)
    regular_tests: list[dict[str, Any]] = field(default_factory=list)
    rto: dict[str, Any] = field(default_factory=dict)
    rpo: dict[str, dict[str, Any]] = field(default_factory=dict)
    failback: dict[str, Any] = field(default_factory=dict)
    faults: list[dict[str, Any]] = field(default_factory=list)
    restored: bool | None = None
    runbook_left: list[str] = field(default_factory=list)
    runbook_command: str = ""
    traffic: list[dict[str, Any]] = field(default_factory=list)
    requests: dict[str, Any] = field(default_factory=dict)
    markers: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    notices: dict[str, Any] = field(default_factory=dict)
    stopped_by: dict[str, Any] | None = None
    external_calls: int = 0
    canary_writes: int = 0
    verdict: str = "incomplete"
    summary_lines: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build(events: Iterable[Event]) -> DrillResult:
    r = DrillResult()
    scenarios: dict[str, dict[str, Any]] = {}
    phases: list[dict[str, Any]] = []
    faults: dict[str, dict[str, Any]] = {}
    budgets: dict[str, Any] = {}
    restored: list[bool] = []
    phase_traffic: dict[str, dict[str, int]] = {}
    first_ts = last_ts = None
    for e in events:
        first_ts = first_ts or e.ts
        last_ts = e.ts
        kind = e.event
        if kind == "canary":
            r.canary_writes += 1
        elif kind == "drill_started":
            r.drill_id, r.target, r.cadence, r.policy = e.get("drill_id"), e.get("target"), e.get("cadence"), e.get("policy")
            r.started_at, r.applied, r.regions = e.ts, e.get("applied"), e.get("regions")
            r.clocks, budgets, r.notices = e.get("clocks") or [], e.get("budgets") or {}, e.get("notices") or {}
            r.checklist = [dict(c, tag=f"checklist_{c['id']}") for c in e.get("checklist") or []]
            r.regular_tests = [dict(t, tag=t["key"]) for t in e.get("regular_tests") or []]
        elif kind == "target_ready":
            r.emulated, r.capabilities = e.get("emulated") or {}, e.get("capabilities") or []
        elif kind == "drill_finished":
            r.complete, r.status, r.finished_at = True, e.get("status"), e.ts
        elif kind == "scenario_started":
            scenarios[e.get("nodeid")] = {k: e.get(k) for k in ("name", "feature", "feature_file", "tags")} | {
                "status": "incomplete", "error": None, "step": None}
        elif kind == "scenario_finished" and e.get("nodeid") in scenarios:
            scenarios[e.get("nodeid")].update(status=e.get("status"), error=e.get("error"), step=e.get("step"))
        elif kind == "phase":
            phases.append({"name": e.get("name"), "t_start": e.get("started_at"), "t_end": e.get("finished_at"),
                           "started_at": _iso(e.get("started_at")), "measured": e.get("measured"),
                           "duration_s": round(e.get("finished_at") - e.get("started_at"), 3),
                           "status": e.get("status"), "detail": e.get("detail")})
        elif kind == "rto":
            r.rto = dict(e.model_extra or {})
        elif kind == "rpo":
            r.rpo[e.get("store")] = dict(e.model_extra or {})
        elif kind == "rpo_failback":
            r.failback.setdefault("rpo", {})[e.get("store")] = dict(e.model_extra or {})
        elif kind in ("fault_planned", "fault_injected", "fault_reverted", "fault_revert_failed"):
            _fault(faults, e)
        elif kind == "restored":
            restored.append(bool(e.get("ok")))
        elif kind == "runbook_left":
            r.runbook_left = list(e.get("remaining") or [])
            r.runbook_command = str(e.get("command") or "drill failback")
        elif kind == "traffic_series":
            r.traffic = e.get("buckets") or []
        elif kind == "phase_traffic":
            phase_traffic = dict(e.get("phases") or {})
        elif kind == "requests_summary":
            r.requests = {"total": e.get("total"), "failed": e.get("failed"), "log": e.get("log")}
        elif kind == "mark" and e.get("name") in PHASE_LABELS:
            r.markers.append({"label": PHASE_LABELS[e.get("name")], "t": e.t})
        elif kind == "slack_message":
            r.messages.append({"at": _iso(e.get("at")), "channel": e.get("channel"), "text": e.get("text")})
        elif kind == "notification":
            r.notifications.append({"at": e.ts, **{k: e.get(k) for k in ("stage", "channel", "who", "text", "planned",
                                                                          "after_s", "within_s", "late", "status")}})
        elif kind == "stop_condition" and r.stopped_by is None:
            r.stopped_by = {"condition": e.get("condition"), "detail": e.get("detail"), "at": e.ts}
        elif kind in ("aws_call", "k8s_call", "db_call"):
            r.external_calls += 1
    r.started_at = r.started_at or first_ts
    r.finished_at = r.finished_at or last_ts
    r.scenarios = list(scenarios.values())
    r.checklist = _trace(r.checklist, r.scenarios)
    r.regular_tests = _trace(r.regular_tests, r.scenarios)
    r.faults = list(faults.values())
    r.restored = all(restored) if restored else None
    _phases(r, phases, budgets)
    for p in r.rto.get("phases", []):
        p["traffic"] = phase_traffic.get(p["name"])  # the users' requests in it (None: no traffic measured)
    if r.rto.get("recovered_at"):
        r.markers.append({"label": "recovery", "t": r.rto["recovered_at"]})
    r.verdict = verdict(r)
    r.summary_lines = summary(r)
    return r


def _fault(faults: dict[str, dict[str, Any]], e: Event) -> None:
    fid = e.get("fault_id")
    if e.event == "fault_planned":
        faults[fid] = {"name": e.get("name"), "fault_id": fid, "params": e.get("params"), "heals": e.get("heals") or "",
                       "planned_at": e.ts, "injected_at": None, "reverted_at": None, "revert_error": None}
    elif fid in faults:
        key = {"fault_injected": "injected_at", "fault_reverted": "reverted_at"}.get(e.event)
        if key:
            faults[fid][key] = e.ts
        else:
            faults[fid]["revert_error"] = e.get("error")


def _phases(r: DrillResult, phases: list[dict[str, Any]], budgets: dict[str, Any]) -> None:
    """The failover's phases beside their section-4 budgets: a measured phase is judged against its
    budget; a phase set by a policy wait is shown as "policy", never judged against itself."""
    budget = {b["name"]: b for b in budgets.get("rto_phases", [])}
    fault_at = r.rto.get("fault_at")
    fb = [p for p in phases if str(p["name"]).startswith(("failback", "restore"))]
    main = [p for p in phases if p not in fb and (fault_at is None or (p["t_start"] or 0) >= fault_at - 1e-3)]
    for p in main:
        b = budget.get(p["name"])
        p["budget_s"] = b["budget_s"] if b else None
        p["budget_label"] = b.get("label", "") if b else ""
        p["verdict"] = "policy" if not p["measured"] else "no budget" if b is None else (
            "met" if p["duration_s"] <= float(b["budget_s"]) else "missed")
    r.rto["phases"] = main
    r.failback["phases"] = [p for p in fb if str(p["name"]).startswith("failback")]


def _trace(items: list[dict[str, Any]], scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        tag = item.pop("tag")
        ran = [s for s in scenarios if tag in (s.get("tags") or [])]
        status = "not in this drill" if not ran else "passed" if all(s["status"] == "passed" for s in ran) else "failed"
        out.append({**item, "status": status, "scenarios": [s["name"] for s in ran]})
    return out


def verdict(r: DrillResult) -> str:
    if not r.complete:
        return "incomplete"
    if r.stopped_by:
        return "stopped"
    if not r.scenarios or any(s["status"] != "passed" for s in r.scenarios):
        return "fail"
    if r.rto and r.rto.get("met") is False or any(v.get("met") is False for v in r.rpo.values()):
        return "fail"
    if any(p.get("verdict") == "missed" for p in r.rto.get("phases", [])):
        return "fail"
    if r.restored is False or any(f["injected_at"] and not f["reverted_at"] for f in r.faults):
        return "fail"
    return "pass"


def fmt(x: float | None, unit: str = "s") -> str:
    return "n/a" if x is None else f"{x:.3f} {unit}" if x < 10 else f"{x:.1f} {unit}"


def summary(r: DrillResult) -> list[str]:
    lines = []
    if r.stopped_by:
        lines.append(f"STOPPED by {r.stopped_by['condition']}: {r.stopped_by['detail']} (rollback ran)")
    rto = r.rto
    if "rto_s" in rto:
        lines.append(f"RTO (user-facing): {fmt(rto.get('rto_s'))} measured, {fmt(rto.get('projected_s'))} on the "
                     f"policy's clocks, budget {fmt(rto.get('budget_s'))}: {'met' if rto.get('met') else 'MISSED'}")
    for p in rto.get("phases", []):
        if p.get("verdict") == "missed":
            lines.append(f"phase {p['name']}: {fmt(p['duration_s'])} > section-4 budget {fmt(p['budget_s'])}: MISSED")
    for store, v in r.rpo.items():
        window = "unbounded" if v.get("unbounded") else fmt(v.get("rpo_s"))
        lines.append(f"RPO {store}: {window} (budget {fmt(v.get('budget_s'))}), {v.get('lost')} of {v.get('acked')} "
                     f"acknowledged writes lost, {v.get('indeterminate')} indeterminate: "
                     + ("met" if v.get("met") else "MISSED: " + "; ".join(v.get("problems") or [])))
    if r.failback.get("rpo"):
        lines.append("Failback: writes made in DR and lost on the return: " + ", ".join(
            f"{s} {v.get('lost')} of {v.get('acked')}" for s, v in r.failback["rpo"].items()))
    for s in r.scenarios:
        if s["status"] != "passed":
            where = f" at step '{s['step']}'" if s.get("step") else ""
            lines.append(f"scenario {s['status']}{where}: {s['name']}: {s['error'] or ''}"[:400])
    if r.restored is False:
        lines.append("rollback did NOT restore steady state")
    if not r.complete:
        lines.append("journal is incomplete: the drill did not finish (crash or kill); run `drill rollback`")
    return lines

def phase_failures(t: dict[str, int] | None) -> str:
    """'12 of 400 (3.0 %), 10 answered by DR' for a phase's users' requests; '-' without traffic."""
    if not t or not t.get("requests"):
        return "-"
    text = f"{t['failed']} of {t['requests']} ({100 * t['failed'] / t['requests']:.1f} %)"
    return text + (f", {t['failed_in_dr']} answered by DR" if t.get("failed_in_dr") else "")
