"""What the events say about a parcel, and what to do about it.

``diagnose`` decides each parcel's category with its evidence, actions, ETA and buyer
message (one vectorised core for one parcel or a million); ``eta`` estimates arrival
(Kaplan-Meier per lane and stage); ``messages`` holds the words in English and Chinese by
reason code (the thresholds are in ``toolkit.policy``); ``triage`` the table a group is
filtered on; ``scorecard`` the figures per carrier and lane; ``incidents`` the places (a
customs office, a handover, a hub) or carriers where many parcels stopped at once.
"""
