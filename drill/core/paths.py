"""Where the checkout's parts are: the one definition of the repository root."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / "config"
DEFAULT_CONFIG = CONFIG_DIR / "portforge.yaml"
PROFILES_DIR = CONFIG_DIR / "profiles"
REPORTS_DIR = REPO_ROOT / "reports"
SCENARIOS_DIR = REPO_ROOT / "scenarios"
LOAD_DIR = REPO_ROOT / "load"
