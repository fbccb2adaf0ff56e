"""``drill plan`` as text: every step, the fault it injects (and whether it heals itself), and each
call with its resources; nothing listed has been done."""

from __future__ import annotations

from typing import Any

from drill.plan.catalogue import all_calls


def _call_line(c: dict[str, Any]) -> str:
    mark = "CHANGE" if c["mutating"] else ("read  " if c["kind"] == "aws" else "call  ")
    where = f"{c['service']}:{c['operation']}" if c["kind"] == "aws" else f"{c['kind']} {c['service']}: {c['operation']}"
    return f"    {mark} {where} [{c['region']}] {', '.join(c['resources'])}" + (f"  ({c['note']})" if c["note"] else "")


def render(plan: dict[str, Any]) -> str:
    lines = [f"drill plan: {plan['cadence']} on {plan['target']} (account {plan['account']})"
             + (f", -k {plan['select']!r}" if plan.get("select") else "") + "; nothing below has been done"]
    for sc in plan["scenarios"]:
        lines.append("")
        lines.append(f"Scenario: {sc['scenario']}" + ("  [destructive: needs --confirm <account-id> on an account]"
                                                      if sc["destructive"] else ""))
        for st in sc["steps"]:
            lines.append(f"  {st['step']}")
            if st.get("fault"):
                extra = f"  ** {st['unavailable']} **" if st.get("unavailable") else \
                    f" (undo recorded before it starts; heals itself: {st['heals']})"
                lines.append(f"    fault {st['fault']}{' [twin-only]' if st.get('twin_only') else ''}{extra}")
            for c in st["calls"]:
                lines.append(_call_line(c))
    lines.append("")
    lines.append("Around every drill (account check, lock, stop conditions, restore; failback only where runbook "
                 "changes remain):")
    for c in plan.get("session", []):
        lines.append(_call_line(c))
    changes = sum(1 for c in all_calls(plan) if c["mutating"])
    lines.append("")
    lines.append(f"{len(plan['scenarios'])} scenarios, {changes} changing calls planned"
                 + (f"; cannot run here: {len(plan['unavailable'])}" if plan["unavailable"] else ""))
    return "\n".join(lines)
