"""TwiML documents read into verbs, with Twilio's defaults filled in.

Only what the sandbox plays is modelled: `<Say>`, `<Play>`, `<Pause>`, `<Gather>` (with nested
Say/Play/Pause), `<Enqueue>`, `<Leave>`, `<Redirect>`, `<Hangup>`, `<Reject>` and
`<Dial><Queue>`. Any other verb is kept as `Unsupported` so a call's timeline can say it was
skipped. Relative URLs are resolved against the document's own URL, as Twilio does.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin

from dialer.sandbox.calls import HttpMethod, Webhook


class TwimlError(Exception):
    """The document is not TwiML the sandbox can follow (Twilio's error 12100)."""


@dataclass(frozen=True)
class Say:
    text: str
    loop: int = 1
    language: str | None = None
    voice: str | None = None


@dataclass(frozen=True)
class Play:
    url: str
    loop: int = 1


@dataclass(frozen=True)
class Pause:
    seconds: float = 1.0


Prompt = Say | Play | Pause


@dataclass(frozen=True)
class Gather:
    action: Webhook
    timeout_seconds: float = 5.0
    num_digits: int | None = None
    finish_on_key: str = "#"
    action_on_empty_result: bool = False
    prompts: tuple[Prompt, ...] = ()


@dataclass(frozen=True)
class Enqueue:
    queue: str
    action: Webhook | None = None
    wait_url: Webhook | None = None


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class Redirect:
    target: Webhook


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class DialQueue:
    """`<Dial><Queue>`; `url` is the Queue's document, played to the dequeued caller."""

    queue: str
    action: Webhook | None = None
    timeout_seconds: float = 30.0
    url: Webhook | None = None


@dataclass(frozen=True)
class Unsupported:
    name: str


Verb = Say | Play | Pause | Gather | Enqueue | Leave | Redirect | Hangup | DialQueue | Unsupported


def parse(text: str | bytes, url: str) -> tuple[Verb, ...]:
    """The verbs of the TwiML document `text`, fetched from `url`."""
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(f"the root element is <{root.tag}>, not <Response>")
    return tuple(_verb(element, url) for element in root)


def _verb(element: ET.Element, url: str) -> Verb:
    tag = element.tag
    if tag in ("Say", "Play", "Pause"):
        return _prompt(element, url)
    if tag == "Gather":
        prompts = tuple(
            _prompt(child, url) for child in element if child.tag in ("Say", "Play", "Pause")
        )
        return Gather(
            action=_hook(element, "action", "method", url) or Webhook(url),
            timeout_seconds=_number(element, "timeout", 5.0),
            num_digits=_optional_int(element, "numDigits"),
            finish_on_key=element.get("finishOnKey", "#"),
            action_on_empty_result=element.get("actionOnEmptyResult", "false") == "true",
            prompts=prompts,
        )
    if tag == "Enqueue":
        return Enqueue(
            queue=_text(element),
            action=_hook(element, "action", "method", url),
            wait_url=_hook(element, "waitUrl", "waitUrlMethod", url),
        )
    if tag == "Leave":
        return Leave()
    if tag == "Redirect":
        return Redirect(Webhook(urljoin(url, _text(element)), _method(element, "method")))
    if tag in ("Hangup", "Reject"):
        return Hangup()
    if tag == "Dial":
        return _dial(element, url)
    return Unsupported(tag)


def _prompt(element: ET.Element, url: str) -> Prompt:
    if element.tag == "Say":
        return Say(
            _text(element),
            loop=_loop(element),
            language=element.get("language"),
            voice=element.get("voice"),
        )
    if element.tag == "Play":
        return Play(urljoin(url, _text(element)), loop=_loop(element))
    return Pause(_number(element, "length", 1.0))


def _dial(element: ET.Element, url: str) -> Verb:
    queue = element.find("Queue")
    if queue is None:
        return Unsupported("Dial")
    return DialQueue(
        queue=_text(queue),
        action=_hook(element, "action", "method", url),
        timeout_seconds=_number(element, "timeout", 30.0),
        url=_hook(queue, "url", "method", url),
    )


def _text(element: ET.Element) -> str:
    return (element.text or "").strip()


def _hook(element: ET.Element, attribute: str, method: str, url: str) -> Webhook | None:
    value = element.get(attribute)
    if value is None or not value.strip():
        return None
    return Webhook(urljoin(url, value.strip()), _method(element, method))


def _method(element: ET.Element, attribute: str) -> HttpMethod:
    value = element.get(attribute, "POST").upper()
    if value not in ("GET", "POST"):
        raise TwimlError(f"<{element.tag}> {attribute}={value!r} is not GET or POST")
    method: Literal["GET", "POST"] = "GET" if value == "GET" else "POST"
    return method


def _loop(element: ET.Element) -> int:
    """Twilio's `loop`: how many times to repeat; 0 means until something interrupts."""
    loop = _optional_int(element, "loop")
    return 1 if loop is None else loop


def _number(element: ET.Element, attribute: str, default: float) -> float:
    value = element.get(attribute)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise TwimlError(f"<{element.tag}> {attribute}={value!r} is not a number") from exc
    if not math.isfinite(number) or number < 0:
        raise TwimlError(f"<{element.tag}> {attribute}={value!r} is out of range")
    return number


def _optional_int(element: ET.Element, attribute: str) -> int | None:
    value = element.get(attribute)
    if value is None:
        return None
    if not value.strip().isdigit():
        raise TwimlError(f"<{element.tag}> {attribute}={value!r} is not a whole number")
    return int(value)
