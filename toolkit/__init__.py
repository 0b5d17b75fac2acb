"""Stuck-parcel investigation toolkit."""

from toolkit.track import track

__all__ = ["track"]
