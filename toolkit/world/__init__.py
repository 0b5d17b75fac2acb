"""The demo world: invented parcels and scans, and the sandbox that answers for them.

``demo`` generates the data set (``python -m toolkit.demo``) with ``demo_text`` for the scan
texts; ``sandbox`` speaks the 17TRACK, Kuaidi100 and AfterShip wire formats over it, in
process or on a port, with faults on request.
"""
