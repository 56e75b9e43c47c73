"""Checks that span several values: the law on sales calls, the company's hard limits, and
references between sections.

They run on the typed models of whatever parts validated (`Parts`), so that one typo does not
hide the rest of the report. `campaign_issues` looks at one campaign alone, `config_issues` at
everything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dialer.campaigns.campaign import Campaign
from dialer.campaigns.clock import window_overlaps
from dialer.campaigns.problems import Issue, Loc, did_you_mean
from dialer.campaigns.values import placeholders

if TYPE_CHECKING:
    from dialer.campaigns.schema import Company, Operator, Policy

LAW_16 = "特定商取引法 第16条"
LAW_17 = "特定商取引法 第17条"


def campaign_issues(campaign: Campaign) -> list[Issue]:
    """Mistakes visible within one campaign; key paths relative to the campaign."""
    overlaps = window_overlaps(campaign.windows)
    issues = [Issue(("windows", *issue.loc), issue.message) for issue in overlaps]
    if campaign.dates and campaign.dates.last < campaign.dates.first:
        message = (
            f"the last day {campaign.dates.last} comes before the first day {campaign.dates.first}"
        )
        issues.append(Issue(("dates", "to"), message))
    issues += _purpose_issues(campaign)
    issues += _survey_issues(campaign)
    if campaign.kind == "solicitation":
        issues += _solicitation_issues(campaign)
    if campaign.pacing.mode == "agentless":
        issues += _agentless_issues(campaign)
    elif not campaign.ivr.reaches_agent():
        message = (
            "pacing.mode is ivr-then-agent, but no menu key (and no no_input.then) leads to an "
            "agent; add {action: agent} or use mode: agentless"
        )
        issues.append(Issue(("ivr", "menu"), message))
    return issues


def _spoken_texts(campaign: Campaign) -> dict[Loc, str]:
    ivr = campaign.ivr
    texts: dict[Loc, str | None] = {
        ("ivr", "greeting"): ivr.greeting,
        ("ivr", "hold", "announcement"): ivr.hold.announcement,
        ("ivr", "machine", "say"): ivr.machine.say,
    }
    if ivr.survey is not None:
        texts[("ivr", "survey", "question")] = ivr.survey.question
        texts[("ivr", "survey", "thanks")] = ivr.survey.thanks
    texts.update({("ivr", "menu", key, "say"): item.say for key, item in ivr.menu.items()})
    return {loc: text for loc, text in texts.items() if text is not None}


def _purpose_issues(campaign: Campaign) -> list[Issue]:
    if campaign.purpose.strip():
        return []
    message = "uses {purpose}, but the campaign has no purpose: set purpose:"
    return [
        Issue(loc, message)
        for loc, text in _spoken_texts(campaign).items()
        if "purpose" in placeholders(text)
    ]


def _solicitation_issues(campaign: Campaign) -> list[Issue]:
    greeting = campaign.ivr.greeting
    issues = []
    if "company" not in placeholders(greeting):
        message = (
            f"a sales call must say who is calling: put {{company}} in the greeting ({LAW_16})"
        )
        issues.append(Issue(("ivr", "greeting"), message))
    purpose = campaign.purpose.strip()
    # an empty purpose behind {purpose} is reported by _purpose_issues
    says_purpose = "purpose" in placeholders(greeting) or (bool(purpose) and purpose in greeting)
    if not says_purpose:
        message = (
            f"a sales call must say why it calls: set purpose: and put {{purpose}} (or its text) "
            f"in the greeting ({LAW_16})"
        )
        issues.append(Issue(("ivr", "greeting"), message))
    if not campaign.ivr.keys_for("opt_out"):
        message = (
            f"a sales call must let the customer refuse: add a key with action: opt_out ({LAW_17})"
        )
        issues.append(Issue(("ivr", "menu"), message))
    return issues


def _survey_issues(campaign: Campaign) -> list[Issue]:
    ivr, survey = campaign.ivr, campaign.ivr.survey
    if survey is None:
        message = "action survey needs the question: add survey: {question: ...} under ivr"
        return [Issue(("ivr", "menu", key, "action"), message) for key in ivr.keys_for("survey")]
    if not ivr.asks_survey_first:
        return []
    low, high = survey.scale
    message = (
        f"the greeting asks the survey question (no key has action: survey), so keys "
        f"{low}-{high} are its answers; give this menu item a key outside them"
    )
    return [Issue(("ivr", "menu", key), message) for key in ivr.menu if key in survey.keys]


def _agentless_issues(campaign: Campaign) -> list[Issue]:
    message = "pacing.mode is agentless: no operator takes this call; choose another action"
    issues = [
        Issue(("ivr", "menu", key, "action"), message) for key in campaign.ivr.keys_for("agent")
    ]
    if campaign.ivr.no_input.then == "agent":
        issues.append(Issue(("ivr", "no_input", "then"), message))
    return issues


@dataclass
class Parts:
    """The sections that validated, by position in the file, for the checks across them."""

    company: Company | None = None
    policy: Policy | None = None
    operators: dict[int, Operator] = field(default_factory=dict)
    operators_complete: bool = True
    campaigns: dict[int, Campaign] = field(default_factory=dict)
    # position → id as written, for every campaign entry that has a string id (valid or not)
    campaign_ids: dict[int, str] = field(default_factory=dict)


def config_issues(parts: Parts, line_of: Callable[[Loc], int | None]) -> list[Issue]:
    """Mistakes across sections; key paths from the top of the document."""
    issues = [
        Issue(("campaigns", index, *issue.loc), issue.message)
        for index, campaign in parts.campaigns.items()
        for issue in campaign_issues(campaign)
    ]
    issues += _duplicates("campaigns", parts.campaign_ids, line_of)
    issues += _duplicates("operators", {i: op.id for i, op in parts.operators.items()}, line_of)
    issues += _queue_issues(parts) + _unserved_issues(parts)
    if parts.policy is not None:
        issues += _hours_issues(parts.policy, parts.campaigns)
        issues += _pacing_issues(parts.policy, parts.campaigns)
    if parts.company is not None and parts.company.caller_id is None:
        issues += _caller_id_issues(parts.campaigns)
    return issues


def _caller_id_issues(campaigns: Mapping[int, Campaign]) -> list[Issue]:
    without = [campaign.id for campaign in campaigns.values() if campaign.caller_id is None]
    if not without:
        return []
    message = f"no caller_id: set one here (campaigns without their own: {', '.join(without)})"
    return [Issue(("company",), message)]


def _duplicates(
    section: str, ids: Mapping[int, str], line_of: Callable[[Loc], int | None]
) -> list[Issue]:
    first: dict[str, int] = {}
    issues = []
    for index, item_id in ids.items():
        if item_id in first:
            line = line_of((section, first[item_id], "id"))
            message = f"id '{item_id}' is already used (line {line}); ids must be unique"
            issues.append(Issue((section, index, "id"), message))
        first.setdefault(item_id, index)
    return issues


def _queue_issues(parts: Parts) -> list[Issue]:
    known = set(parts.campaign_ids.values())
    return [
        Issue(
            ("operators", index, "queues", position),
            f"unknown campaign '{queue}'{did_you_mean(queue, known)}",
        )
        for index, operator in parts.operators.items()
        for position, queue in enumerate(operator.queues)
        if queue not in known
    ]


def _unserved_issues(parts: Parts) -> list[Issue]:
    if not parts.operators_complete:  # the invalid operator may be the one serving
        return []
    served = {queue for operator in parts.operators.values() for queue in operator.queues}
    return [
        Issue(
            ("campaigns", index, "pacing", "mode"),
            f"campaign '{campaign.id}' hands calls to operators, but no operator has it in queues:",
        )
        for index, campaign in parts.campaigns.items()
        if campaign.pacing.mode == "ivr-then-agent" and campaign.id not in served
    ]


def _hours_issues(policy: Policy, campaigns: Mapping[int, Campaign]) -> list[Issue]:
    return [
        Issue(
            ("campaigns", index, "windows", spec, position),
            f"{window} is outside the company's calling hours (policy.hours: {policy.hours})",
        )
        for index, campaign in campaigns.items()
        for spec, ranges in campaign.windows.items()
        for position, window in enumerate(ranges)
        if not window.within(policy.hours)
    ]


def _pacing_issues(policy: Policy, campaigns: Mapping[int, Campaign]) -> list[Issue]:
    issues = []
    for index, campaign in campaigns.items():
        pacing = campaign.pacing
        if pacing.cps > policy.account_cps:
            message = (
                f"cps {pacing.cps:g} is above the account's limit "
                f"(policy.account_cps: {policy.account_cps:g})"
            )
            issues.append(Issue(("campaigns", index, "pacing", "cps"), message))
        if pacing.max_concurrent > policy.max_concurrent_calls:
            message = (
                f"max_concurrent {pacing.max_concurrent} is above the company's limit "
                f"(policy.max_concurrent_calls: {policy.max_concurrent_calls})"
            )
            issues.append(Issue(("campaigns", index, "pacing", "max_concurrent"), message))
    return issues
