"""Stuck-parcel investigation toolkit.

``toolkit.track`` and ``toolkit.setup_notebook`` are loaded when first used, so that
``import toolkit.model`` (the data contract) loads no HTTP client, sandbox or charts.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["setup_notebook", "track"]


class _Toolkit(types.ModuleType):
    """The package, with ``track`` the function whether or not its module is loaded yet."""

    @property
    def track(self) -> Any:
        from toolkit.track import track

        return track

    @track.setter
    def track(self, value: Any) -> None:
        # Loading toolkit/track.py sets the module here; toolkit.track stays the function,
        # as `from toolkit import track` has always given it.
        if not isinstance(value, types.ModuleType):
            raise AttributeError("toolkit.track is the tracking function and cannot be replaced")


def __getattr__(name: str) -> Any:
    if name == "setup_notebook":
        from toolkit.notebook import setup_notebook

        return setup_notebook
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


sys.modules[__name__].__class__ = _Toolkit
