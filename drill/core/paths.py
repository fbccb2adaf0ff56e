"""Where the checkout's parts are: the one definition of the repository root."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / "config"
# the policy a command applies without --config: the one policy file in config/ (profiles apart)
_POLICIES = sorted(CONFIG_DIR.glob("*.yaml"))
DEFAULT_CONFIG = _POLICIES[0] if len(_POLICIES) == 1 else CONFIG_DIR / "(several policies: pass --config)"
PROFILES_DIR = CONFIG_DIR / "profiles"
REPORTS_DIR = REPO_ROOT / "reports"
SCENARIOS_DIR = REPO_ROOT / "scenarios"
LOAD_DIR = REPO_ROOT / "load"
