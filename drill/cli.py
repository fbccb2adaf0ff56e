"""The ``drill`` command line.

Exit status: 0 success; 1 a drill, budget or check failed; 2 bad input (nothing was mutated);
130 interrupted (after rollback).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any, NoReturn

import yaml

from drill.config import LoadedConfig, load_config
from drill.errors import DrillError, InvalidInput

TARGETS = ("sandbox", "localstack", "aws")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        self.exit(2, f"drill: error: {message}\n")


def _common() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="policy config (default: config/portforge.yaml)")
    common.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override any config value (repeatable)")
    common.add_argument("--target", choices=TARGETS, default="sandbox",
                        help="where to act; its profile in config/profiles applies (default: sandbox)")
    common.add_argument("--no-profile", action="store_true", help="use the policy's own values only")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(prog="drill", description=(
        "DR drill harness: run a DR policy's checklist as Gherkin scenarios against a target, "
        "measure RTO and RPO from real traffic and writes, and write a drill report."))
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
                       help="policy: the policy's setup with section-7 gaps fixed (default); "
                            "as-is: the five known gaps reproduced")
    sb_up.add_argument("--json", action="store_true")
    st = sb_sub.add_parser("status", help="health of every part")
    st.add_argument("--json", action="store_true")
    sb_sub.add_parser("down", help="stop it; leaves no process, port or temp dir")
    sb_sub.add_parser("env", help="print shell exports so the AWS CLI and kubectl talk to it: eval $(drill sandbox env)")

    run = sub.add_parser("run", parents=[common], help="run the drill scenarios of a cadence and write a report")
    run.add_argument("--cadence", choices=("monthly", "quarterly", "weekly", "all"), default="quarterly")
    run.add_argument("--reports", metavar="DIR", default=None, help="where reports land (default: reports/)")
    run.add_argument("-k", dest="select", metavar="EXPR", default=None, help="pytest -k scenario filter")
    run.add_argument("--lang", choices=("en", "ko"), default="en", help="report language (headings, notices)")
    run.add_argument("--confirm", metavar="ACCOUNT_ID", default=None,
                     help="--target aws: the account id, to allow destructive scenarios there")

    pl = sub.add_parser("plan", parents=[common], help="print every action a drill would take, with its "
                        "resources; makes no change (on aws: STS and read-only lookups only)")
    pl.add_argument("--cadence", choices=("monthly", "quarterly", "weekly", "all"), default="quarterly")
    pl.add_argument("-k", dest="select", metavar="EXPR", default=None, help="scenario filter (words of the name)")
    pl.add_argument("--json", action="store_true")

    au = sub.add_parser("audit", parents=[common], help="read-only DR readiness scorecard against the policy; "
                        "exit 1 when gaps exist")
    au.add_argument("--json", action="store_true")

    iam = sub.add_parser("iam-policy", parents=[common], help="print the least-privilege IAM policy for the "
                         "AWS calls of a cadence's plan")
    iam.add_argument("--cadence", choices=("monthly", "quarterly", "weekly", "all"), default="all")
    iam.add_argument("--resolve", action="store_true",
                     help="look up ids (zone, CRR role, user pools) in the target first (read-only)")

    flt = sub.add_parser("fault", parents=[common], help="inject one fault of the catalog, hold it, undo it")
    flt.add_argument("name", help="fault name (drill fault --list)", nargs="?")
    flt.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="fault parameter")
    flt.add_argument("--hold", type=float, default=10.0, metavar="SECONDS", help="how long the fault stays")
    flt.add_argument("--reports", metavar="DIR", default=None)
    flt.add_argument("--list", action="store_true", help="list the fault catalog")
    flt.add_argument("--confirm", metavar="ACCOUNT_ID", default=None, help="--target aws: the account id")

    rep = sub.add_parser("report", help="re-render a drill's report from its journal (also a cut-short one)")
    rep.add_argument("drill_dir", metavar="DRILL_DIR")
    rep.add_argument("--lang", choices=("en", "ko"), default="en", help="headings and the policy's notices")

    rb = sub.add_parser("rollback", help="finish the rollback of drills that did not finish (after a hard kill)")
    rb.add_argument("drills", nargs="*", metavar="DRILL_DIR", help="drill report dirs (default: every unfinished one)")
    rb.add_argument("--reports", metavar="DIR", default=None, help="where reports land (default: reports/)")
    return parser


def _load(args: argparse.Namespace) -> LoadedConfig:
    profile = None if args.no_profile else args.target
    return load_config(args.config, profile, args.overrides)


def cmd_config(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if args.action == "check":
        cfg = loaded.config
        print(f"{loaded.path}: ok ({cfg.policy.name}: {cfg.regions.primary.name} -> {cfg.regions.dr.name}, "
              f"RTO {cfg.budgets.rto_s:.0f} s, RPO rds {cfg.budgets.rpo_s.get('rds')} s; "
              f"profile {loaded.profile or 'none'}, {len(loaded.overrides)} overrides)")
        return 0
    data = loaded.config.model_dump(mode="json")
    data["_applied"] = loaded.applied()
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")
    return 0


def _print_status(state: dict[str, Any], as_json: bool) -> None:
    keys = ("healthy", "parts", "aws_endpoint", "edge_url", "kubeconfig", "mysql", "slack_sink",
            "control_url", "posture", "timings", "applied", "runtime_dir", "pid", "aws_routing")
    view = {k: state.get(k) for k in keys}
    raw_mysql = state.get("mysql") or {}
    mysql: dict[str, Any] = {"primary": raw_mysql.get("primary"), "replica": raw_mysql.get("dr")}
    view["mysql"] = mysql
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
    print(f"  edge          {state.get('edge_url')}  (send Host: api.<domain>)")
    print(f"  kubeconfig    {state.get('kubeconfig')}")
    print("  mysql         " + ", ".join(f"{r} {m['host']}:{m['port']}" for r, m in mysql.items() if m))
    print(f"  slack sink    {state.get('slack_sink')}")


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox import lifecycle

    if args.action == "up":
        loaded = _load(args)
        if args.target == "aws":
            raise InvalidInput("drill sandbox up: --target aws has no sandbox (use sandbox or localstack)")
        localstack = None
        if args.target == "localstack":
            from drill.targets import detect_localstack

            localstack = detect_localstack(loaded.config)
        up_state, started = lifecycle.up(loaded, args.posture, localstack=localstack)
        state = up_state
        live = lifecycle.status() or up_state
        if not args.json:
            total = (state.get("timings") or {}).get("total")
            print(("started" if started else "already running") +
                  (f" in {total:.1f} s" if started and total else ""))
        _print_status(live, args.json)
        return 0 if live.get("healthy") else 1
    if args.action == "status":
        current = lifecycle.status()
        if current is None:
            if args.json:
                print(json.dumps({"healthy": False, "running": False}))
            else:
                print("sandbox: not running")
            return 1
        _print_status(current, args.json)
        return 0 if current.get("healthy") else 1
    if args.action == "env":
        running = lifecycle.running_state()
        if running is None:
            raise InvalidInput("sandbox is not running (start it with: drill sandbox up)")
        state = running
        # the emulator accepts any credentials; these are placeholders, not secrets
        for key, value in (("AWS_ENDPOINT_URL", state["aws_endpoint"]), ("AWS_ACCESS_KEY_ID", "testing"),
                           ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", state["regions"]["primary"]),
                           ("KUBECONFIG", state["kubeconfig"]), ("DRILL_EDGE_URL", state["edge_url"])):
            print(f"export {key}={value}")
        return 0
    stopped = lifecycle.down()
    print("sandbox: stopped" if stopped else "sandbox: not running")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from drill.runner import run_drill

    loaded = _load(args)
    return run_drill(loaded, target=args.target, cadence=args.cadence, reports_dir=args.reports,
                     select=args.select, lang=args.lang, confirm=args.confirm)


def _plan_target(args: argparse.Namespace, loaded: LoadedConfig) -> Any:
    """A target to resolve ids with, read-only: aws (after the STS check) or a running twin."""
    from drill.targets import make_target

    if args.target == "aws":
        return make_target("aws", loaded)
    from sandbox import lifecycle

    if lifecycle.running_state() is None:
        return None  # plan from the config alone; nothing is started for a plan
    return make_target(args.target, loaded, start_sandbox=False)


def cmd_plan(args: argparse.Namespace) -> int:
    from drill import plan

    loaded = _load(args)
    target = _plan_target(args, loaded)
    built = plan.select(plan.build(loaded.config, args.cadence, args.target, target), args.select)
    print(json.dumps(built, indent=2, ensure_ascii=False) if args.json else plan.render(built))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from drill.audit import Auditor, render
    from drill.targets import make_target

    loaded = _load(args)
    target = make_target(args.target, loaded)  # the sandbox: the running twin, else one started for this
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


def cmd_iam_policy(args: argparse.Namespace) -> int:
    from drill import plan

    loaded = _load(args)
    target = _plan_target(args, loaded) if args.resolve else None
    print(json.dumps(plan.iam_policy(plan.build(loaded.config, args.cadence, "aws", target)), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `drill ... | head` ends quietly
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "config":
            return cmd_config(args)
        if args.command == "sandbox":
            return cmd_sandbox(args)
        if args.command == "plan":
            return cmd_plan(args)
        if args.command == "audit":
            return cmd_audit(args)
        if args.command == "iam-policy":
            return cmd_iam_policy(args)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "fault":
            from drill.chaos import parse_params, run_fault
            from drill.faults import REGISTRY

            if args.list or not args.name:
                for kind in REGISTRY.values():
                    print(f"{kind.name:28} {', '.join(kind.targets):26} {kind.description}")
                return 0
            return run_fault(_load(args), args.target, args.name, parse_params(args.param), args.hold, args.reports,
                             args.confirm)
        if args.command == "report":
            from pathlib import Path

            from drill.report import render

            d = Path(args.drill_dir)
            if not (d / "journal.jsonl").exists():
                raise InvalidInput(f"{d}: no journal.jsonl here")
            res = render(d, args.lang)
            print(f"{res['verdict'].upper()}: {d / 'report.html'}")
            return 0
        if args.command == "rollback":
            from drill.rollback import run_rollback

            return run_rollback(args.reports, args.drills)
    except InvalidInput as exc:
        print(f"drill: error: {exc}", file=sys.stderr)
        return 2
    except DrillError as exc:
        print(f"drill: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("drill: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
