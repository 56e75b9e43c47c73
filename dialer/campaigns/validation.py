"""The bridge between pydantic and `Issue`: both directions, so messages read the same everywhere.

Validators that find several mistakes at once, or mistakes deeper than the value they check
(the segment parser), raise `issues_error`; pydantic keeps their key paths. `validate` turns
pydantic's errors back into issues worded for a campaign manager rather than a programmer.
"""

from __future__ import annotations

import re
import types
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from dialer.campaigns.problems import Issue, Loc, describe, did_you_mean
from dialer.campaigns.source import Source

Model = TypeVar("Model", bound=BaseModel)

_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
    "tuple_type": "a list",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date without a time",
}


class Section(BaseModel):
    """Base of every campaigns.yaml model: unknown keys are mistakes, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def issues_error(issues: Sequence[Issue], value: Any) -> ValidationError:
    """`issues` (key paths relative to `value`) as one pydantic error that keeps the paths."""
    details = [
        InitErrorDetails(
            type=PydanticCustomError("config", "{message}", {"message": issue.message}),
            loc=issue.loc,
            input=value,
        )
        for issue in issues
    ]
    return ValidationError.from_exception_data("campaigns.yaml", details)


def validate(
    model: type[Model], data: Any, base: Loc, source: Source
) -> tuple[Model | None, list[Issue]]:
    """Validate one section of the document; on failure, its issues located under `base`."""
    try:
        return model.model_validate(data), []
    except ValidationError as error:
        return None, [_issue(detail, model, base, source) for detail in error.errors()]


def _issue(detail: ErrorDetails, model: type[BaseModel], base: Loc, source: Source) -> Issue:
    relative = tuple(part for part in detail["loc"] if part != "[key]")
    loc = base + relative
    kind = detail["type"]
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = allowed_keys(model, relative[:-1])
        message = f"unknown key '{key}'{did_you_mean(key, allowed)}"
        return Issue(loc[:-1], message, source.line_of(loc))
    if kind == "missing":
        return Issue(loc[:-1], f"missing required key '{loc[-1]}'")
    message = _message(detail)
    if "[key]" in detail["loc"]:  # the message names the key; point at its line
        return Issue(loc[:-1], message, source.line_of(loc))
    if loc in source.booleans:
        text = source.booleans[loc]
        message += (
            f" (YAML reads the unquoted {text} as {str(detail['input']).lower()}; "
            f'if you mean the text, quote it: "{text}")'
        )
    return Issue(loc, message)


def _message(detail: ErrorDetails) -> str:
    kind, context = detail["type"], detail.get("ctx", {})
    if kind == "value_error":
        return str(context["error"])
    if kind == "config":
        return detail["msg"]
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe(detail['input'])}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(context["expected"]))
        suggestion = did_you_mean(detail["input"], choices)
        return f"{describe(detail['input'])} is not one of: {', '.join(choices)}{suggestion}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"needs at least {context['min_length']} item(s)"
    if kind == "too_long":
        return f"allows at most {context['max_length']} item(s)"
    message = detail["msg"].replace("Input should be", "should be")
    return f"{message}, got {describe(detail['input'])}"


def allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the model accepts at `loc` (a path relative to `model`), for did-you-mean."""
    target: Any = model
    for part in loc:
        target = _unwrap(target)
        if isinstance(target, type) and issubclass(target, BaseModel):
            fields = {info.alias or name: info for name, info in target.model_fields.items()}
            if part not in fields:
                return []
            target = fields[str(part)].annotation
        elif get_origin(target) in (list, tuple, dict):
            target = get_args(target)[-1 if get_origin(target) is dict else 0]
        else:
            return []
    target = _unwrap(target)
    if isinstance(target, type) and issubclass(target, BaseModel):
        return [info.alias or name for name, info in target.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            annotation = members[0]
        else:
            return annotation
