"""Stuck-parcel investigation toolkit."""
