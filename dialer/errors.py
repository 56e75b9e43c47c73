"""Domain errors a user can cause. Their message is written for that user.

The CLI and the web layer turn them into exit codes and pages; anything else is a bug.
"""


class DialerError(Exception):
    """Base of every error caused by input, configuration or data rather than by a bug."""


class UnknownCampaignError(DialerError):
    """A campaign id was named that the configuration does not have."""
