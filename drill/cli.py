"""The ``drill`` command line: argument parsing and dispatch (the commands live in the engine).

Exit status: 0 success; 1 a drill, budget or check failed; 2 bad input (one line, nothing was
changed); 130 interrupted (after rollback).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import yaml

from drill.core.config import LoadedConfig, load_config
from drill.core.errors import DrillError, InvalidInput, TargetUnavailable
from drill.targets.factory import NAMES as TARGETS

CADENCES = ("monthly", "quarterly", "weekly", "all")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        self.exit(2, f"drill: error: {message}\n")


def _common() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="policy config (default: the one policy file in config/)")
    common.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override any config value (repeatable)")
    common.add_argument("--target", choices=TARGETS, default="sandbox",
                        help="where to act; its profile in config/profiles applies (default: sandbox)")
    common.add_argument("--profile", default=None, help="apply this profile instead of the target's")
    common.add_argument("--no-profile", action="store_true", help="use the policy's own values only")
    common.add_argument("--time-scale", type=float, default=None, metavar="FACTOR",
                        help="run on the policy's own clocks times FACTOR (e.g. 0.1: 2 min to declare, 3 min of "
                             "stability), after the profile; every report states each applied clock")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(prog="drill", description=(
        "DR drill harness: run a DR policy's checklist as Gherkin scenarios against a target, measure RTO and "
        "RPO from real traffic and writes, and write a drill report."))
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    cfg = sub.add_parser("config", help="check or show the policy config")
    cfg_sub = cfg.add_subparsers(dest="action", required=True, parser_class=_Parser)
    cfg_sub.add_parser("check", parents=[common], help="validate; one line and exit 2 on a problem")
    show = cfg_sub.add_parser("show", parents=[common], help="print the resolved config (YAML or --json)")
    show.add_argument("--json", action="store_true")

    sb = sub.add_parser("sandbox", help="the local two-region twin")
    sb_sub = sb.add_subparsers(dest="action", required=True, parser_class=_Parser)
    sb_up = sb_sub.add_parser("up", parents=[common], help="start it in the background; returns when healthy")
    sb_up.add_argument("--posture", choices=("policy", "as-is"), default=None,
                       help="policy: the policy's setup with section-7 gaps fixed (default); as-is: the gaps reproduced")
    sb_up.add_argument("--json", action="store_true")
    st = sb_sub.add_parser("status", help="health of every part")
    st.add_argument("--json", action="store_true")
    sb_sub.add_parser("down", help="stop it; leaves no process, port or temp dir")
    sb_sub.add_parser("env", help="shell exports that point the AWS CLI, boto3, kubectl and drill --target aws at it: "
                                  "eval $(drill sandbox env)")

    run = sub.add_parser("run", parents=[common], help="run the drill scenarios of a cadence and write a report")
    run.add_argument("--cadence", choices=CADENCES, default="quarterly")
    run.add_argument("--reports", metavar="DIR", default=None, help="where reports land (default: reports/)")
    run.add_argument("-k", dest="select", metavar="EXPR", default=None, help="pytest -k scenario selection")
    run.add_argument("--lang", choices=("en", "ko"), default="en", help="report language (headings, notices)")
    run.add_argument("--confirm", metavar="ACCOUNT_ID", default=None,
                     help="on an account: its id, to allow the scenarios that change it")
    run.add_argument("-v", dest="verbose", action="store_true", help="pytest's own output on the terminal")

    pl = sub.add_parser("plan", parents=[common], help="every action a drill would take, with its resources; "
                        "makes no change (on aws: STS and read-only lookups of ids)")
    pl.add_argument("--cadence", choices=CADENCES, default="quarterly")
    pl.add_argument("-k", dest="select", metavar="EXPR", default=None, help="pytest -k scenario selection")
    pl.add_argument("--json", action="store_true")

    au = sub.add_parser("audit", parents=[common], help="read-only DR readiness scorecard; exit 1 when gaps exist")
    au.add_argument("--json", action="store_true")

    iam = sub.add_parser("iam-policy", parents=[common], help="the least-privilege IAM policy for a cadence's plan")
    iam.add_argument("--cadence", choices=CADENCES, default="all")
    iam.add_argument("--resolve", action="store_true", help="look up ids (zone, user pools) in the target (read-only)")

    flt = sub.add_parser("fault", parents=[common], help="inject one fault of the catalog, hold it, undo it")
    flt.add_argument("name", help="fault name (drill fault --list)", nargs="?")
    flt.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="fault parameter")
    flt.add_argument("--hold", type=float, default=10.0, metavar="SECONDS", help="how long the fault stays")
    flt.add_argument("--reports", metavar="DIR", default=None)
    flt.add_argument("--list", action="store_true", help="list the fault catalog")
    flt.add_argument("--confirm", metavar="ACCOUNT_ID", default=None, help="on an account: its id")

    fb = sub.add_parser("failback", parents=[common], help="return the target to the primary region by the "
                        "policy's failback procedure (after an interrupted run)")
    fb.add_argument("--reports", metavar="DIR", default=None)
    fb.add_argument("--confirm", metavar="ACCOUNT_ID", default=None, help="on an account: its id")

    rep = sub.add_parser("report", help="re-render a drill's report from its journal (also a cut-short one)")
    rep.add_argument("drill_dir", metavar="DRILL_DIR")
    rep.add_argument("--lang", choices=("en", "ko"), default="en", help="headings and the policy's notices")

    rb = sub.add_parser("rollback", parents=[common], help="finish the rollback of drills that did not finish")
    rb.add_argument("drills", nargs="*", metavar="DRILL_DIR", help="drill report dirs (default: every unfinished one)")
    rb.add_argument("--reports", metavar="DIR", default=None, help="where reports land (default: reports/)")
    rb.add_argument("--confirm", metavar="ACCOUNT_ID", default=None, help="on an account: its id")
    return parser


def _load(args: argparse.Namespace) -> LoadedConfig:
    profile = None if args.no_profile else (args.profile or args.target)
    return load_config(args.config, profile, args.overrides, args.time_scale)


def cmd_config(args: argparse.Namespace) -> int:
    loaded = _load(args)
    cfg = loaded.config
    if args.action == "check":
        print(f"{loaded.path}: ok ({cfg.policy.name}: {cfg.regions.primary.name} -> {cfg.regions.dr.name}, "
              f"RTO {cfg.budgets.rto_s:.0f} s, RPO rds {cfg.budgets.rpo_s.get('rds')} s; "
              f"profile {loaded.profile or 'none'}, {len(loaded.overrides)} overrides)")
        return 0
    data = cfg.model_dump(mode="json")
    data["_applied"] = loaded.applied()
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else
          yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="" if not args.json else "\n")
    return 0


def _print_status(state: dict[str, Any], as_json: bool) -> None:
    keys = ("healthy", "parts", "aws_endpoint", "resolver", "kubeconfig", "slack_api", "control_url", "posture",
            "timings", "applied", "runtime_dir", "pid", "aws_routing", "addresses", "cut")
    view = {k: state.get(k) for k in keys}
    if as_json:
        print(json.dumps(view, indent=2, default=str))
        return
    print(f"sandbox: {'healthy' if state.get('healthy') else 'UNHEALTHY'} (posture {state.get('posture')}, "
          f"pid {state.get('pid')})")
    for name, part in (state.get("parts") or {}).items():
        print(f"  {'ok ' if part['healthy'] else 'BAD'} {name:22} {part['detail']}")
    print(f"  aws endpoint  {state.get('aws_endpoint')}")
    routing = state.get("aws_routing") or {}
    if routing.get("localstack"):
        print(f"  localstack    {routing['localstack']} ({routing.get('localstack_version')}): "
              + ", ".join(routing.get("to_localstack", [])) + "; the rest: the twin's emulator")
    print(f"  dns resolver  {state.get('resolver')}  (load balancers: {', '.join(sorted((state.get('addresses') or {}).values()))})")
    print(f"  kubeconfig    {state.get('kubeconfig')}")
    print(f"  slack api     {state.get('slack_api')}")


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox import client

    if args.action == "up":
        from drill.targets.factory import twin_routing

        loaded = _load(args)
        twin, started = client.up(loaded, args.posture, localstack=twin_routing(args.target, loaded))
        live = client.status() or twin.state
        if not args.json:
            total = (twin.state.get("timings") or {}).get("total")
            print(("started" if started else "already running") + (f" in {total:.1f} s" if started and total else ""))
        _print_status(live, args.json)
        return 0 if live.get("healthy") else 1
    if args.action == "status":
        current = client.status()
        if current is None:
            print(json.dumps({"healthy": False, "running": False}) if args.json else "sandbox: not running")
            return 1
        _print_status(current, args.json)
        return 0 if current.get("healthy") else 1
    if args.action == "env":
        attached = client.attach()
        if attached is None:
            raise InvalidInput("sandbox is not running (start it with: drill sandbox up)")
        for key, value in attached.info.env().items():  # the emulator takes any credentials: placeholders
            print(f"export {key}={value}")
        return 0
    print("sandbox: stopped" if client.down() else "sandbox: not running")
    return 0


def cmd_plan(args: argparse.Namespace, iam: bool = False) -> int:
    from drill.plan.catalogue import build
    from drill.plan.iam import iam_policy
    from drill.plan.render import render
    from drill.targets.factory import capabilities_of, make_target

    loaded = _load(args)
    target = None
    if args.command == "plan" or args.resolve:  # read-only: any call but a read is refused before it is sent
        try:
            target = make_target(args.target, loaded, read_only=True, start_sandbox=False)
        except TargetUnavailable:
            target = None  # no twin running: the plan from the config alone (nothing is started for a plan)
    caps = target.capabilities if target is not None else capabilities_of(args.target)
    built = build(loaded, args.cadence, args.target, caps, target, getattr(args, "select", None))
    if iam:
        print(json.dumps(iam_policy(built), indent=2))
    else:
        print(json.dumps(built, indent=2, ensure_ascii=False) if args.json else render(built))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from drill.checks.audit import Auditor, render
    from drill.targets.factory import make_target

    loaded = _load(args)
    target = make_target(args.target, loaded, read_only=True)
    try:
        findings = Auditor(target).run()
    finally:
        target.close()
    gaps = [f for f in findings if not f.ok]
    if args.json:
        print(json.dumps({"target": args.target, "policy": loaded.config.policy.name, "gaps": len(gaps),
                          "checks": [f.as_dict() for f in findings]}, indent=2, ensure_ascii=False))
    else:
        print(render(findings, args.target, loaded.config))
    return 1 if gaps else 0


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "config":
        return cmd_config(args)
    if args.command == "sandbox":
        return cmd_sandbox(args)
    if args.command in ("plan", "iam-policy"):
        return cmd_plan(args, iam=args.command == "iam-policy")
    if args.command == "audit":
        return cmd_audit(args)
    if args.command == "run":
        from drill.core import memory
        from drill.engine.runner import run_drill

        memory.limit_arenas()  # before the drill's threads: its size follows what it holds (drill/core/memory.py)
        memory.trim_every()
        return run_drill(_load(args), target=args.target, cadence=args.cadence, reports_dir=args.reports,
                         select=args.select, lang=args.lang, confirm=args.confirm, verbose=args.verbose)
    if args.command == "fault":
        from drill.engine.chaos import parse_params, run_fault
        from drill.faults.registry import catalog

        if args.list or not args.name:
            from drill.targets.factory import capabilities_of

            for fault in catalog().values():
                where = [t for t in TARGETS if fault.requires <= capabilities_of(t)]
                print(f"{fault.name:28} {', '.join(where):26} {'[twin-only] ' if fault.twin_only else ''}"
                      f"{fault.description}; heals itself: {fault.heals or 'no (undone by the drill)'}")
            return 0
        return run_fault(_load(args), args.target, args.name, parse_params(args.param), args.hold, args.reports,
                         args.confirm)
    if args.command == "failback":
        from drill.engine.commands import run_failback

        return run_failback(_load(args), args.target, args.reports, args.confirm)
    if args.command == "report":
        from drill.report.build import render

        d = Path(args.drill_dir)
        if not (d / "journal.jsonl").exists():
            raise InvalidInput(f"{d}: no journal.jsonl here")
        res = render(d, args.lang)
        print(f"{res['verdict'].upper()}: {d / 'report.html'}")
        return 0
    if args.command == "rollback":
        from drill.engine.rollback import run_rollback

        return run_rollback(_load(args), args.target, args.reports, args.drills, args.confirm)
    raise InvalidInput(f"unknown command {args.command}")


def main(argv: list[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `drill ... | head` ends quietly
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except InvalidInput as exc:
        print(f"drill: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return 2
    except DrillError as exc:
        print(f"drill: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("drill: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
