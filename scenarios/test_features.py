"""Binds every feature file; tags become markers (registered in pytest.ini)."""

from pytest_bdd import scenarios

scenarios("../features")
