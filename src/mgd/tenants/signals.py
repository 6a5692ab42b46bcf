"""Signals between features that may not import each other (the layers of ``.importlinter``): one feature
sends, another connects its receiver; both only know this module.

``spend_cap_reached``: consumption alerts (``mgd.usage``) send it, in the evaluating transaction, when a
line's spend reaches its cap for the first time in a cycle (``sender``: the session; ``tenant_id``,
``line_id``, ``cap_request_id``: the ``usage_cap_requests`` row, once per line and cycle).
``mgd.orders.caps`` orders the bars (premium-rate blocking and roaming off) in that same transaction.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

spend_cap_reached = _signals.signal("spend-cap-reached")
