"""What a drill measured, as typed results (the journal carries the same records for the report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drill.core.measure import Clock, StoreLoss, UserRto


@dataclass
class SteadyState:
    ok: bool
    problems: list[str]
    replica_lag_s: float | None = None


@dataclass
class RpoResult:
    store: str
    budget_s: float | None
    loss: StoreLoss

    @property
    def problems(self) -> list[str]:
        return self.loss.problems(self.budget_s)

    @property
    def met(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**self.loss.as_dict(), "budget_s": self.budget_s, "met": self.met, "problems": self.problems,
                "measured_s": self.loss.rpo_s}


@dataclass
class RtoResult:
    rto: UserRto
    budget_s: float
    clocks: list[Clock]
    projected_s: float | None

    @property
    def met(self) -> bool:
        return self.projected_s is not None and self.projected_s <= self.budget_s

    def as_dict(self) -> dict[str, Any]:
        return {**self.rto.as_dict(), "budget_s": self.budget_s, "projected_s": self.projected_s, "met": self.met,
                "clocks": [{"name": c.name, "applied_s": c.applied_s, "policy_s": c.policy_s, "in_rto": c.in_rto}
                           for c in self.clocks]}


@dataclass
class Results:
    rto: RtoResult | None = None
    rpo: dict[str, RpoResult] = field(default_factory=dict)
    rpo_failback: dict[str, RpoResult] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)  # measured phase -> seconds
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)  # every phase -> (start, end)


@dataclass
class RunbookState:
    """Which of the runbook's changes are in place on the target, as its APIs show them."""

    dr_writer: bool  # the DR instance is a writer (promoted)
    primary_replica_of_dr: bool
    records_at_dr: list[str]
    dr_nodes: int
    standby_nodes: int

    def remaining(self) -> list[str]:
        out = []
        if self.dr_writer:
            out.append("the DR database is the writer (promoted)")
        if self.records_at_dr:
            out.append(f"{', '.join(self.records_at_dr)} point at the DR region")
        if self.dr_nodes != self.standby_nodes:
            out.append(f"the DR node group has {self.dr_nodes} nodes (standby: {self.standby_nodes})")
        return out
