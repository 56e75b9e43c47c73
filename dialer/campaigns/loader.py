"""From bytes to a checked `Config`, or a `ConfigError` that lists every problem with its line.

Each section (and each operator and campaign) is validated on its own, so that a mistake in
one does not hide the others, and the checks across sections still run on the valid parts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from dialer.campaigns.campaign import Campaign
from dialer.campaigns.problems import ConfigError, Issue, Problem, describe, did_you_mean, dotted
from dialer.campaigns.rules import Parts, config_issues
from dialer.campaigns.schema import Company, Config, Operator, Policy, Rfm
from dialer.campaigns.source import Source, SourceError, read_source
from dialer.campaigns.validation import Section, validate

Model = TypeVar("Model", bound=Section)

SECTIONS = ("company", "policy", "rfm", "operators", "campaigns")


def load_config(path: Path) -> Config:
    """Read and check the campaigns file at `path`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _fatal(str(path), "file not found") from None
    except IsADirectoryError:
        raise _fatal(str(path), "is a directory, not a campaigns file") from None
    except OSError as error:
        raise _fatal(str(path), f"cannot read the file: {error.strerror}") from None
    return parse_config(data, str(path))


def parse_config(data: bytes, path: str) -> Config:
    """Check the campaigns file content `data`; `path` only names it in problems."""
    try:
        source = read_source(data)
    except SourceError as error:
        raise _fatal(path, error.message, error.line) from None
    assembly = _Assembly(source)
    config = assembly.assemble()
    issues = source.issues + assembly.issues_not_already_reported()
    if issues or config is None:
        raise ConfigError(_problems(issues, source, path))
    return config


def _fatal(path: str, message: str, line: int | None = None) -> ConfigError:
    return ConfigError([Problem(path, line, message)])


def _problems(issues: list[Issue], source: Source, path: str) -> list[Problem]:
    problems: dict[tuple[int | None, str], Problem] = {}
    for issue in issues:
        line = issue.line if issue.line is not None else source.line_of(issue.loc)
        where = dotted(issue.loc)
        message = f"{where}: {issue.message}" if where else issue.message
        problems.setdefault((line, message), Problem(path, line, message))
    return list(problems.values())


class _Assembly:
    """Validates the document section by section, keeping what passed for the cross checks."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.data = source.data
        self.issues: list[Issue] = []
        self.parts = Parts()

    def assemble(self) -> Config | None:
        self.unknown_sections()
        company = self.section(Company, "company", required=True)
        policy = self.section(Policy, "policy")
        rfm = self.section(Rfm, "rfm")
        self.parts.company, self.parts.policy = company, policy
        self.parts.operators, self.parts.operators_complete = self.items(Operator, "operators")
        self.parts.campaigns, _ = self.items(Campaign, "campaigns")
        self.parts.campaign_ids = self.raw_campaign_ids()
        self.issues += config_issues(self.parts, self.source.line_of)
        if company is None or policy is None or rfm is None or self.issues:
            return None
        return Config(
            company=company,
            policy=policy,
            rfm=rfm,
            operators=list(self.parts.operators.values()),
            campaigns=list(self.parts.campaigns.values()),
        )

    def issues_not_already_reported(self) -> list[Issue]:
        """Drop schema issues on values the source already complained about."""
        taken = {issue.loc for issue in self.source.issues if issue.line is None}
        return [
            issue for issue in self.issues if not any(issue.loc[: len(loc)] == loc for loc in taken)
        ]

    def unknown_sections(self) -> None:
        for key in self.data:
            if key not in SECTIONS:
                message = f"unknown key '{key}'{did_you_mean(key, SECTIONS)}"
                self.issues.append(Issue((), message, self.source.line_of((key,))))

    def section(self, model: type[Model], key: str, required: bool = False) -> Model | None:
        if key not in self.data and required:
            self.issues.append(Issue((), f"missing required key '{key}'"))
            return None
        raw = self.data.get(key)
        found, issues = validate(
            model, {} if raw is None and not required else raw, (key,), self.source
        )
        self.issues += issues
        return found

    def items(self, model: type[Model], key: str) -> tuple[dict[int, Model], bool]:
        raw = self.data.get(key)
        raw = [] if raw is None else raw
        if not isinstance(raw, list):
            self.issues.append(Issue((key,), f"expected a list, got {describe(raw)}"))
            return {}, False
        valid: dict[int, Model] = {}
        for index, item in enumerate(raw):
            found, issues = validate(model, item, (key, index), self.source)
            self.issues += issues
            if found is not None:
                valid[index] = found
        return valid, len(valid) == len(raw)

    def raw_campaign_ids(self) -> dict[int, str]:
        raw = self.data.get("campaigns")
        items = raw if isinstance(raw, list) else []
        return {
            index: item["id"]
            for index, item in enumerate(items)
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        }
