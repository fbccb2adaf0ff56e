"""Binds the features of the policy a run applies (``policy.features`` of its config); tags become
markers (registered in pytest.ini and, for the policy's own tags, by conftest.py)."""

from pytest_bdd import scenarios

from conftest import loaded_config

_loaded = loaded_config()
scenarios(str((_loaded.path.parent / _loaded.config.policy.features).resolve()))
