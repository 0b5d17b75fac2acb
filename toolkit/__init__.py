"""Stuck-parcel investigation toolkit.

The package is grouped by what it does (see ARCHITECTURE.md): ``toolkit.tracking``
(numbers, carrier clients, scan reading, ``track``), ``toolkit.diagnosis`` (diagnosis, ETA,
messages, triage, scorecard, incidents), ``toolkit.findings``, ``toolkit.report``,
``toolkit.widgets`` and ``toolkit.world`` (demo data and sandbox), over a base of ``model``,
``times``, ``errors``, ``policy``, ``keys``, ``privacy``, ``plots`` and a few helpers.

The modules' earlier flat names still import, as the same module objects:
``toolkit.numbers`` is ``toolkit.tracking.numbers``, ``toolkit.diagnose`` is
``toolkit.diagnosis.diagnose``, ``python -m toolkit.demo`` runs ``toolkit.world.demo``.

``toolkit.track`` and ``toolkit.setup_notebook`` are loaded when first used, so that
``import toolkit.model`` (the data contract) loads no HTTP client, sandbox or charts.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
from typing import Any

__all__ = ["setup_notebook", "track"]

# Earlier flat module names and where the modules live now.
MOVED: dict[str, str] = {
    **{
        f"toolkit.{name}": f"toolkit.tracking.{name}"
        for name in ("carriers", "corpus", "gloss", "lookup", "normalize", "numbers", "phrases")
    },
    "toolkit.plausibility": "toolkit.tracking.plausibility",
    "toolkit.track": "toolkit.tracking.track",
    **{
        f"toolkit.{name}": f"toolkit.diagnosis.{name}"
        for name in ("diagnose", "eta", "incidents", "messages", "scorecard", "triage")
    },
    "toolkit.findings_schema": "toolkit.findings.schema",
    **{f"toolkit.{name}": f"toolkit.world.{name}" for name in ("demo", "demo_text", "sandbox")},
}


def _moved_to(fullname: str) -> str | None:
    """The module's present name for an earlier one (submodules of moved packages too)."""
    for old, new in MOVED.items():
        if fullname == old or fullname.startswith(old + "."):
            return new + fullname[len(old) :]
    return None


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an earlier module name as the module it now is (one object, not a copy)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        new = _moved_to(fullname)
        if new is None:
            return None
        real = importlib.util.find_spec(new)
        if real is None:
            return None
        return importlib.util.spec_from_loader(
            fullname, self, is_package=real.submodule_search_locations is not None
        )

    def create_module(self, spec) -> types.ModuleType:
        return importlib.import_module(_moved_to(spec.name))  # type: ignore[arg-type]

    def exec_module(self, module: types.ModuleType) -> None:
        """The module ran when it was imported under its present name."""

    def get_code(self, fullname: str):
        """The present module's code, for ``python -m`` under the earlier name."""
        new = _moved_to(fullname)
        real = importlib.util.find_spec(new)  # type: ignore[arg-type]
        return real.loader.get_code(new)  # type: ignore[union-attr]


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.insert(0, _MovedModules())


class _Toolkit(types.ModuleType):
    """The package, with ``track`` the function whether or not its module is loaded yet."""

    @property
    def track(self) -> Any:
        from toolkit.tracking.track import track

        return track

    @track.setter
    def track(self, value: Any) -> None:
        # Importing the module toolkit.track sets it here; toolkit.track stays the function,
        # as `from toolkit import track` has always given it.
        if not isinstance(value, types.ModuleType):
            raise AttributeError("toolkit.track is the tracking function and cannot be replaced")


def __getattr__(name: str) -> Any:
    if name == "setup_notebook":
        from toolkit.notebook import setup_notebook

        return setup_notebook
    if f"toolkit.{name}" in MOVED:  # toolkit.tracking.numbers.parse after a bare `import toolkit`
        return importlib.import_module(MOVED[f"toolkit.{name}"])
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


sys.modules[__name__].__class__ = _Toolkit
