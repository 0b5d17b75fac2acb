"""Stuck-parcel investigation toolkit."""

from toolkit.notebook import setup_notebook
from toolkit.track import track

__all__ = ["setup_notebook", "track"]
