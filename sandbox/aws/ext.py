"""Install every extension of moto, once per process (see the ``ext_*`` modules)."""

from __future__ import annotations

_installed: list[bool] = []


def install() -> None:
    if _installed:
        return
    _installed.append(True)
    # moto's server lists its package folder on disk for every request it routes; the list never
    # changes while the process runs
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]

    _untrack_instances()

    from sandbox.aws import ext_rds, ext_signals, ext_stores

    ext_rds.install()
    ext_stores.install()
    ext_signals.install()


def _untrack_instances() -> None:
    """moto appends every model object it ever makes to a list on its class (``instances_tracked``,
    for its /moto-api/data.json and its reset), so nothing it makes is ever freed: every S3 object
    version and DynamoDB item deleted long ago, and every copy of every item a Query or Scan answered
    with (moto deep-copies its results). A drill that polls for its canaries grew the twin by tens of
    MB a minute while storing nothing. The twin uses neither that endpoint nor moto's reset."""
    from moto.core.base_backend import model_data
    from moto.core.common_models import BaseModel

    def untracked(cls: type, *args: object, **kwargs: object) -> BaseModel:
        return super(BaseModel, cls).__new__(cls)  # type: ignore[misc, no-any-return]

    BaseModel.__new__ = staticmethod(untracked)  # type: ignore[method-assign, assignment]
    for models in model_data.values():
        for model in models.values():
            model.instances_tracked = []  # type: ignore[attr-defined]
