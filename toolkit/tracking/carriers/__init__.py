"""Carrier service clients: 17TRACK, Kuaidi100 and AfterShip over one shared plumbing."""

from toolkit.tracking.carriers.aftership import AfterShipClient
from toolkit.tracking.carriers.base import (
    ERROR_KINDS,
    Link,
    NumberError,
    Query,
    RateLimiter,
    ResponseCache,
    Result,
    ServiceClient,
)
from toolkit.tracking.carriers.kuaidi100 import Kuaidi100Client
from toolkit.tracking.carriers.seventeentrack import SeventeenTrackClient

__all__ = [
    "ERROR_KINDS",
    "AfterShipClient",
    "Kuaidi100Client",
    "Link",
    "NumberError",
    "Query",
    "RateLimiter",
    "ResponseCache",
    "Result",
    "ServiceClient",
    "SeventeenTrackClient",
]
