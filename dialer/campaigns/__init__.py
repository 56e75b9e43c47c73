"""campaigns.yaml: its schema, its checks, and the loader that reports every mistake by line.

`load_config` / `parse_config` give a typed `Config` or raise `ConfigError` whose `problems`
print as `PATH:LINE: message`. `calling_rules` hands one campaign to the calendar. The segment
language lives in `dialer.campaigns.segments`.
"""

from dialer.campaigns.calling import calling_rules
from dialer.campaigns.campaign import Campaign, Dates, Pacing, Retry, Script
from dialer.campaigns.ivr import Hold, Ivr, Machine, MenuItem, NoInput
from dialer.campaigns.loader import load_config, parse_config
from dialer.campaigns.problems import ConfigError, Problem
from dialer.campaigns.schema import BlackoutPeriod, Company, Config, Operator, Policy, Rfm
from dialer.campaigns.segments import Segment

__all__ = [
    "BlackoutPeriod",
    "Campaign",
    "Company",
    "Config",
    "ConfigError",
    "Dates",
    "Hold",
    "Ivr",
    "Machine",
    "MenuItem",
    "NoInput",
    "Operator",
    "Pacing",
    "Policy",
    "Problem",
    "Retry",
    "Rfm",
    "Script",
    "Segment",
    "calling_rules",
    "load_config",
    "parse_config",
]
