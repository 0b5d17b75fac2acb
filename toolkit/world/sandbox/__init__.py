"""A sandbox that answers as 17TRACK, Kuaidi100 and AfterShip do, from the demo data set.

Use it in-process through ``SandboxTransport`` or on a localhost socket through ``serve``;
``Faults`` makes it slow or unreliable on purpose.
"""

from toolkit.world.sandbox.app import LogEntry, Request, Response, SandboxApp
from toolkit.world.sandbox.faults import Faults
from toolkit.world.sandbox.server import SandboxServer, SandboxTransport, serve
from toolkit.world.sandbox.world import Scan, Shipment, World

__all__ = [
    "Faults",
    "LogEntry",
    "Request",
    "Response",
    "SandboxApp",
    "SandboxServer",
    "SandboxTransport",
    "Scan",
    "Shipment",
    "World",
    "serve",
]
