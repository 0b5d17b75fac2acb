"""From tracking numbers to one events table.

``numbers`` reads a tracking number (format, check digit, carrier candidates, corrections);
``carriers`` holds the 17TRACK, Kuaidi100 and AfterShip clients; ``track`` asks them and
follows handovers to the domestic carrier; ``normalize`` turns their scans into events,
``phrases`` reads each scan text into a milestone, ``plausibility`` sets aside answers that
cannot be the parcel's, ``lookup`` finds a parcel from any of its numbers, and ``corpus``
holds the real carrier texts and numbers the reading is measured on (in ``data/``).

The modules are imported one by one (``from toolkit.tracking import numbers``), so that
reading a number loads no HTTP client.
"""
