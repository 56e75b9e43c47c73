"""Outbound dialer campaign orchestrator: the domain, scheduling and telephony.

Nothing in this package imports Flask or a CLI framework; `web/` and `dialer.cli` call into it.
"""

__version__ = "0.1.0"
