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

    from sandbox.aws import ext_rds, ext_signals, ext_stores

    ext_rds.install()
    ext_stores.install()
    ext_signals.install()
