"""Steps with their planned calls, in one place: ``given/when/then`` here register a pytest-bdd step
and record, beside it, which calls it makes (``calls``) and which fault of the catalog it
injects (``fault``). The plan matches each step of a feature (read with pytest-bdd's own parser)
against these registrations, with pytest-bdd's own step parsers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_bdd import given as _given
from pytest_bdd import parsers
from pytest_bdd import then as _then
from pytest_bdd import when as _when
from pytest_bdd.parsers import StepParser, get_parser

from drill.core.calls import Call, Ctx

CallsFn = Callable[[Ctx], list[Call]]


@dataclass(frozen=True)
class StepDef:
    kind: str  # given | when | then
    parser: StepParser
    calls: CallsFn | None
    fault: str | None

    def matches(self, kind: str, text: str) -> bool:
        return self.kind == kind and bool(self.parser.is_matching(text))


STEPS: list[StepDef] = []
_BDD = {"given": _given, "when": _when, "then": _then}


def _step(kind: str) -> Callable[..., Callable[[Callable[..., Any]], Callable[..., Any]]]:
    def decorator_factory(name: str | StepParser, calls: CallsFn | None = None, fault: str | None = None,
                          target_fixture: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        parser = get_parser(name)

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            STEPS.append(StepDef(kind, parser, calls, fault))
            return _BDD[kind](parser, target_fixture=target_fixture, stacklevel=2)(func)

        return decorator

    return decorator_factory


given = _step("given")
when = _step("when")
then = _step("then")

__all__ = ["STEPS", "StepDef", "given", "parsers", "then", "when"]
