"""Fuzz the CLI in process (drill.cli.main): malformed configs, --set values and journals must
each end in exit status 2 with exactly one line on stderr, no traceback, and nothing written."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from drill.cli import main
from drill.core.journal import SHAPES, iso
from drill.core.paths import DEFAULT_CONFIG, PROFILES_DIR
from drill.core.schema import Config
from tests.unit.schema_walk import ann_at, has_any, model, options, paths, typo

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "drill-unit-hypothesis")  # nothing written in the tree
FUZZ = settings(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
BASE: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False)


BASE_TEXT = _dump(BASE)
BASE_JSON = json.dumps(BASE)
PROFILE_KEYS = set(yaml.safe_load((PROFILES_DIR / "sandbox.yaml").read_text(encoding="utf-8")))  # the default target's
GARBAGE = {"zz_garbage": [None, {"zz": [None]}]}
PATHS = paths(BASE)  # every key and list item of the policy file


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, bool, bool]:
    """(YAML text, whether it is certainly invalid with the profile, without it)."""
    kind = draw(st.sampled_from(["delete", "rename", "add", "garbage", "numeric_text", "junk", "yaml_bad",
                                 "yaml_noise", "not_mapping"]))
    if kind == "yaml_bad":
        return draw(st.sampled_from([BASE_TEXT + "\nzz_broken: [1, 2\n", "%YAML 9.9\n---\n" + BASE_TEXT])), True, True
    if kind == "not_mapping":
        return draw(st.sampled_from(["", "- a\n- b\n", "42\n", "'text'\n", "~\n"])), True, True
    if kind == "yaml_noise":
        cut = draw(st.integers(0, len(BASE_TEXT)))
        noise = draw(st.sampled_from(["", "\t", ": :", "[", "}", "- x", "\n  bad: [", "&a *b", "'"]))
        return BASE_TEXT[:cut] + noise + draw(st.sampled_from(["", BASE_TEXT[cut:]])), False, False
    data = json.loads(BASE_JSON)
    path = draw(st.sampled_from(PATHS))
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    key, parent_model, dotted, certain = path[-1], model(ann_at(path[:-1])), ".".join(map(str, path)), False
    if kind == "delete":
        del parent[key]
        certain = bool(parent_model and isinstance(key, str) and parent_model.model_fields[key].is_required())
    elif kind in ("rename", "add") and isinstance(parent, dict):
        new = typo(key, draw(st.integers(0, 40)), draw(st.sampled_from(["drop", "double", "append"])))
        if kind == "add":
            new = "zz_" + draw(st.text("abcdefgh_", max_size=8))
        if new in parent or (parent_model and new in parent_model.model_fields):
            return _dump(data), False, False
        parent[new] = parent.pop(key) if kind == "rename" else draw(st.sampled_from([1, None, "v", GARBAGE]))
        return _dump(data), parent_model is not None, parent_model is not None
    elif kind == "garbage":
        parent[key] = GARBAGE
        ann = ann_at(path)
        certain = ann is not None and not has_any(ann)
    elif kind == "numeric_text":
        parent[key] = "abc" + draw(st.text("xyz", max_size=3))
        opts = options(ann_at(path))
        certain = bool(opts) and all(o in (int, float) for o in opts)
    else:
        parent[key] = draw(st.one_of(
            st.none(), st.booleans(), st.integers(-10**12, -1), st.floats(-1e9, -1e-6), st.text(max_size=20),
            st.just("x" * 20_000), st.lists(st.integers(), max_size=3), st.just(GARBAGE),
            st.dictionaries(st.text(max_size=4), st.none(), max_size=2)))
    return _dump(data), certain and dotted not in PROFILE_KEYS, certain


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(argv)
    return rc, capsys.readouterr().err


def _one_error_line(err: str) -> None:
    assert err.startswith("drill: error: ") and err.endswith("\n"), err[:300]
    assert err.count("\n") == 1 and "Traceback" not in err, err[:300]


@settings(FUZZ, max_examples=110)
@given(mut=mutations(), no_profile=st.booleans())
def test_malformed_config(mut: tuple[str, bool, bool], no_profile: bool, capsys: pytest.CaptureFixture[str],
                          tmp_path: Path) -> None:
    text, invalid_with_profile, invalid_alone = mut
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    rc, err = _run(["config", "check", "--config", str(path)] + (["--no-profile"] if no_profile else []), capsys)
    assert rc in (0, 2)
    if rc == 2:
        _one_error_line(err)
    else:
        assert err == ""
    if invalid_alone if no_profile else invalid_with_profile:
        assert rc == 2


@pytest.mark.parametrize(("mutate", "words"), [
    (lambda d: d["policy"].pop("name"), "policy.name: required key is missing"),
    (lambda d: d.__setitem__("measre", d.pop("measure")), "did you mean"),
    (lambda d: d["measure"].__setitem__("canary_rate_per_s", "abc"), "measure.canary_rate_per_s"),
    (lambda d: d["workloads"][2].__setitem__("zz_extra", 1), "workloads[2].zz_extra: unknown key"),
    (lambda d: d["budgets"].__setitem__("rto_s", GARBAGE), "budgets.rto_s"),
    # canaries too sparse for the budget: a loss within it could not be told from one over it
    (lambda d: d["measure"]["canary_rates_per_s"].__setitem__("dynamodb", 2), "canary_rates_per_s.dynamodb >= 10"),
    (lambda d: d["measure"].__setitem__("canary_rate_per_s", 1), "canary_rates_per_s.rds >= 2"),
    (lambda d: d["measure"]["canary_rates_per_s"].__setitem__("dynamo", 10), "canary_rates_per_s.dynamo"),
])
def test_certainly_invalid_config_names_the_problem(mutate: Any, words: str, capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    data = json.loads(BASE_JSON)
    mutate(data)
    path = tmp_path / "policy.yaml"
    path.write_text(_dump(data), encoding="utf-8")
    rc, err = _run(["config", "check", "--config", str(path)], capsys)
    assert rc == 2
    _one_error_line(err)
    assert words in err


@pytest.mark.parametrize("override", [
    "nonexistent.key=1", "nonexistent=1", "measure.canary_rate_per_s=abc", "measure.canary_rate_per_s=",
    "measure.nope=1", "measure=", "=1", "novalue", "workloads.99.name=x", "workloads.x.name=x",
    "policy.name.deeper=1", "budgets.rto_s=-5", "load.users=[1, 2", "communication.webhook_url=abc"])
def test_bad_set_value(override: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _run(["config", "check", "--set", override], capsys)
    assert rc == 2
    _one_error_line(err)


YAML_WORDS = {"yes", "no", "on", "off", "true", "false", "null", "y", "n"}


@settings(FUZZ, max_examples=30)
@given(key=st.from_regex(r"\A[a-z_]{1,12}(\.[a-z0-9_]{1,8}){0,3}\Z"), value=st.text(max_size=20),
       number_text=st.from_regex(r"\A[a-zA-Z]{1,10}\Z"), field=st.sampled_from(
           ["measure.canary_rate_per_s", "budgets.rto_s", "load.users", "stop.time_budget_s", "route53.ttl_s"]),
       which=st.booleans())
@example(key="nonexistent.key", value="1", number_text="abc", field="measure.canary_rate_per_s", which=True)
def test_fuzzed_set_values(key: str, value: str, number_text: str, field: str, which: bool,
                           capsys: pytest.CaptureFixture[str]) -> None:
    key = "zz" + key if key.split(".")[0] in Config.model_fields else key  # an unknown section
    override = f"{key}={value}" if which else f"{field}={number_text}"
    if not which and number_text.lower() in YAML_WORDS:  # YAML booleans and null: not certainly wrong for a number
        return
    rc, err = _run(["config", "check", "--no-profile", "--set", override], capsys)
    assert rc == 2, override
    _one_error_line(err)


# ----------------------------------------------------------------------------- journals


def _rec(seq: int, event: str = "note", **data: Any) -> dict[str, Any]:
    return {"seq": seq, "ts": iso(1.7e9 + seq), "t": 1.7e9 + seq, "mono": float(seq), "event": event, **data}


def _line(obj: Any) -> bytes:  # one journal line
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


VALID_BODIES = {"drill_started": {"drill_id": "d1", "target": "sandbox", "cadence": "monthly", "applied": {}},
                "fault_planned": {"fault_id": "f1", "name": "n", "params": {}, "undo": {}},
                "fault_injected": {"fault_id": "f1"}, "fault_reverted": {"fault_id": "f1"},
                "load_started": {"pids": [1, 2]}}
WRONG = {"str": [None, 5, 1.5, True, [1], {"a": 1}], "float": [None, "abc", [1.0], {"a": 1}],
         "int": [None, "abc", 1.5, [1], {"a": 1}], "dict": [None, "x", 5, [1, 2]],
         "list": [None, "x", {"a": 1}, ["one"], [1.5], [None]]}
BASE_TYPES = {"seq": "int", "ts": "str", "t": "float", "mono": "float", "event": "str"}


@st.composite
def bad_lines(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "cut", "non_object", "wrong_type", "missing", "base_type"]))
    if kind == "bytes":
        raw = draw(st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")))
        return raw.replace(b'"seq"', b"") + b"\n"
    if kind == "cut":
        full = _line(_rec(2, "fault_planned", **VALID_BODIES["fault_planned"]))[:-1]
        return full[:draw(st.integers(1, len(full) - 1))] + b"\n"
    if kind == "non_object":
        scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
        inner = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c,
                                                                                       max_size=2), max_leaves=5)
        return _line(draw(scalars | st.lists(inner, max_size=3)))
    event = draw(st.sampled_from(sorted(SHAPES)))
    body = dict(VALID_BODIES[event])
    if kind == "base_type":
        name = draw(st.sampled_from(sorted(BASE_TYPES)))
        return _line(_rec(2, event, **body) | {name: draw(st.sampled_from(WRONG[BASE_TYPES[name]]))})
    name = draw(st.sampled_from(sorted(body)))
    wrong = WRONG["list" if name == "pids" else "dict" if isinstance(body[name], dict) else "str"]
    body.pop(name) if kind == "missing" else body.__setitem__(name, draw(st.sampled_from(wrong)))
    return _line(_rec(2, event, **body))


@settings(FUZZ, max_examples=1000)
@given(bad=bad_lines(), before=st.integers(0, 3), after=st.integers(0, 2), in_old_segment=st.booleans())
def test_malformed_journal(bad: bytes, before: int, after: int, in_old_segment: bool,
                           capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        drill_dir = Path(tmp) / "drill-x"
        drill_dir.mkdir()
        content = b"".join(_line(_rec(i)) for i in range(before)) + bad + b"".join(_line(_rec(9 + i)) for i in range(after))
        files = {drill_dir / ("journal-000001.jsonl" if in_old_segment else "journal.jsonl"): content}
        if in_old_segment:
            files[drill_dir / "journal.jsonl"] = _line(_rec(20))
        for path, data in files.items():
            path.write_bytes(data)
        rc, err = _run(["report", str(drill_dir)], capsys)
        assert rc == 2, bad
        _one_error_line(err)
        assert {p: p.read_bytes() for p in files} == files
        assert sorted(Path(tmp).rglob("*")) == sorted([drill_dir, *files])


REPORT_CRASHES = {
    "phase_without_end": {"event": "phase", "name": "dns", "started_at": 1.0, "measured": True},
    "phase_start_text": {"event": "phase", "name": "dns", "started_at": "x", "finished_at": 3.0, "measured": True},
    "checklist_item_without_id": dict(VALID_BODIES["drill_started"], event="drill_started", checklist=[{}]),
    "rto_s_text": {"event": "rto", "rto_s": "x"},
    "scenario_nodeid_list": {"event": "scenario_started", "nodeid": ["a"]},
}


@pytest.mark.parametrize("case", sorted(REPORT_CRASHES))
def test_report_on_wrong_typed_record_the_report_reads(case: str, capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    drill_dir = tmp_path / "drill-x"
    drill_dir.mkdir()
    body = dict(REPORT_CRASHES[case])
    (drill_dir / "journal.jsonl").write_bytes(_line(_rec(1)) + _line(_rec(2, body.pop("event"), **body)))
    rc, err = _run(["report", str(drill_dir)], capsys)
    assert rc == 2
    _one_error_line(err)


def _deep_config(tmp_path: Path) -> list[str]:
    (tmp_path / "policy.yaml").write_text(BASE_TEXT + "zz: " + "[" * 2000 + "]" * 2000 + "\n", encoding="utf-8")
    return ["config", "check", "--config", str(tmp_path / "policy.yaml")]


def _deep_journal(tmp_path: Path) -> list[str]:
    (tmp_path / "journal.jsonl").write_bytes(_line(_rec(1)) + b"[" * 100_000 + b"\n")
    return ["report", str(tmp_path)]


@pytest.mark.parametrize("setup", [
    pytest.param(_deep_config, id="config"),
    pytest.param(_deep_journal, id="journal")])
def test_deeply_nested_input(setup: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, err = _run(setup(tmp_path), capsys)
    assert rc == 2
    _one_error_line(err)
