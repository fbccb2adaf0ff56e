"""Load a policy config: the YAML file, then a target profile, then each ``--set``, validated.

A profile (config/profiles/<name>.yaml) is a flat map of ``key.path: value`` overrides applied
before validation, and so is each ``--set key.path=value``. The model is in ``schema.py``.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from drill.core.errors import InvalidInput
from drill.core.paths import DEFAULT_CONFIG, PROFILES_DIR
from drill.core.schema import Config

# the policy's waits a --time-scale run scales (each stated in every report, projected back)
SCALED_CLOCKS = ("declaration.outage_s", "failback.stabilization_s", "route53.ttl_s", "route53.health_check.interval_s",
                 "route53.health_check.alarm.period_s", "measure.success_window_s")
# what a --time-scale run takes from the config file, not from the profile (a scaled run is long)
UNSHORTENED = ("stop.time_budget_s", "measure.action_deadline_s")
SECRET_KEYS = {"webhook_url"}  # config values that are secrets: never echoed in an error
PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")


# ---------------------------------------------------------------- loading


class LoadedConfig:
    """A validated config plus where it came from and which overrides applied."""

    def __init__(self, config: Config, path: Path, profile: str | None, overrides: dict[str, Any],
                 set_args: list[str] | None = None):
        self.config = config
        self.path = path
        self.profile = profile
        self.overrides = overrides
        self.set_args = list(set_args or [])
        self.time_scale: float | None = None

    def policy_values(self) -> Config:
        """The file alone, without profile or --set: the policy's own clocks and names."""
        if not self.overrides:
            return self.config
        return load_config(self.path, None, []).config

    def overridden(self, key: str) -> bool:
        """Whether a profile or --set changed ``key`` or anything under it."""
        return any(k == key or k.startswith(key + ".") for k in self.overrides)

    def command(self, verb: str, target: str, confirm: str | None = None) -> str:
        """The command line that runs ``verb`` with this same config (file, profile, --set values)."""
        import shlex

        parts = ["drill", verb, "--target", target]
        if self.path.resolve() != DEFAULT_CONFIG.resolve():
            parts += ["--config", str(self.path)]
        if self.profile is None:
            parts.append("--no-profile")
        elif self.profile != target:
            parts += ["--profile", self.profile]
        if self.time_scale is not None:
            parts += ["--time-scale", f"{self.time_scale:g}"]
        for item in self.set_args:
            parts += ["--set", item]
        if confirm:
            parts += ["--confirm", confirm]
        return shlex.join(parts)

    def applied(self) -> dict[str, Any]:
        """What every output states: source file, profile and each overridden value."""
        return {"config": str(self.path), "profile": self.profile, "overrides": self.overrides}


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _lookup(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The allowed keys at the parent of ``loc``, for a did-you-mean hint."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", None)
        if args:
            ann = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), ann)
        current = ann
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _explain(err: ValidationError, raw: dict[str, Any], path: Path) -> str:
    first = err.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    where = _fmt_loc(loc)
    if first["type"] == "extra_forbidden":
        hint = difflib.get_close_matches(str(loc[-1]), _field_names(Config, loc), n=1)
        msg = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
    elif first["type"] == "missing":
        msg = "required key is missing"
    else:
        got = _lookup(raw, loc)
        if loc and str(loc[-1]) in SECRET_KEYS:
            got = None  # a secret is never echoed, even a wrong one
        msg = first["msg"] + (f" (got {got!r})" if got is not None and not isinstance(got, (dict, list)) else "")
    more = len(err.errors()) - 1
    suffix = f" [+{more} more problem{'s' if more > 1 else ''}]" if more else ""
    return f"{path}: {where}: {msg}{suffix}"


def parse_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise InvalidInput(f"--set {text!r}: expected key.path=value")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key:
        raise InvalidInput(f"--set {text!r}: empty key")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key, parsed


def _apply(data: dict[str, Any], key: str, value: Any, source: str) -> None:
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            try:
                node = node[int(part)]
                continue
            except (ValueError, IndexError):
                raise InvalidInput(f"{source}: {key}: no list item {part!r}") from None
        if not isinstance(node, dict) or part not in node:
            where = ".".join(parts[: i + 1])
            known = list(node) if isinstance(node, dict) else []
            hint = difflib.get_close_matches(part, known, n=1)
            raise InvalidInput(
                f"{source}: {where}: unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        try:
            node[int(last)] = value
            return
        except (ValueError, IndexError):
            raise InvalidInput(f"{source}: {key}: no list item {last!r}") from None
    if not isinstance(node, dict):
        raise InvalidInput(f"{source}: {key}: parent is not a mapping")
    node[last] = value  # unknown leaf keys are caught by validation with a hint


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{path}: config file not found") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise InvalidInput(f"{path}: nested too deeply to be a config") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(f"{path}: {where}YAML syntax error: {problem}") from None


def load_config(
    path: str | Path | None = None,
    profile: str | None = None,
    overrides: list[str] | None = None,
    time_scale: float | None = None,
) -> LoadedConfig:
    """Load, apply the profile, then the time scale (the policy's own clocks times a factor), then
    each ``--set``, and validate. Raises InvalidInput."""
    cfg_path = Path(path) if path else DEFAULT_CONFIG
    raw = _read_yaml(cfg_path)
    if not isinstance(raw, dict):
        raise InvalidInput(f"{cfg_path}: (top level): expected a mapping of sections")
    applied: dict[str, Any] = {}
    if profile:
        if not PROFILE_NAME.match(profile):
            raise InvalidInput(f"profile {profile!r}: not a profile name (letters, digits, '-', '_')")
        prof_path = PROFILES_DIR / f"{profile}.yaml"
        prof = _read_yaml(prof_path) if prof_path.exists() else {}
        if not isinstance(prof, dict):
            raise InvalidInput(f"{prof_path}: expected a mapping of key.path: value")
        for key, value in prof.items():
            _apply(raw, str(key), value, str(prof_path))
            applied[str(key)] = value
    if time_scale is not None:
        if not 0 < time_scale <= 1:
            raise InvalidInput(f"--time-scale {time_scale:g}: a factor in (0, 1] of the policy's clocks")
        policy = _read_yaml(cfg_path)
        for key in SCALED_CLOCKS:
            value = _lookup(policy, tuple(key.split(".")))
            if isinstance(value, int | float):
                scaled = round(float(value) * time_scale, 3)
                if key.endswith("alarm.period_s"):
                    scaled = max(1, round(scaled))  # CloudWatch periods are whole seconds
                _apply(raw, key, scaled, "--time-scale")
                applied[key] = scaled
        for key in UNSHORTENED:  # a profile's short budget is for its short clocks, not the policy's scaled
            value = _lookup(policy, tuple(key.split(".")))
            if value is not None:
                _apply(raw, key, value, "--time-scale")
                applied[key] = value
    for text in overrides or []:
        key, value = parse_override(text)
        _apply(raw, key, value, "--set")
        applied[key] = value
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(_explain(exc, raw, cfg_path)) from None
    loaded = LoadedConfig(config, cfg_path, profile, applied, overrides)
    loaded.time_scale = time_scale
    return loaded
