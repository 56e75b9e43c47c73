"""What the customer hears and can press: greeting, menu, silence, hold queue, answering machine,
and the one-key satisfaction question (満足度調査).

The web layer renders TwiML from these models alone; every default of the call flow is here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
)

from dialer.campaigns.problems import describe
from dialer.campaigns.validation import Section
from dialer.campaigns.values import HttpUrl, SpokenText, Voice

PHONE_KEYS = "0123456789*#"

MenuAction = Literal["agent", "callback", "opt_out", "repeat", "hangup", "survey"]
"""agent: to the hold queue; callback: ask for a better time; opt_out: put on the DNC list at
once (特定商取引法 第17条); repeat: say the greeting again; hangup: end politely; survey: ask the
campaign's `survey` question and record the key pressed as the answer."""


def _menu_key(key: str) -> str:
    if len(key) == 1 and key in PHONE_KEYS:
        return key
    raise ValueError(f'\'{key}\' is not a phone key; use 0-9, "*" or "#" (quote * and #)')


MenuKey = Annotated[str, AfterValidator(_menu_key)]


class MenuItem(Section):
    """What pressing one key does, and what is said before doing it."""

    action: MenuAction
    say: SpokenText | None = None


class NoInput(Section):
    """When the customer presses nothing: repeat the menu, then give up this way."""

    repeat: StrictInt = Field(default=1, ge=0, le=3)
    then: Literal["hangup", "agent", "callback"] = "hangup"


class Hold(Section):
    """The queue between the IVR and a free operator."""

    announcement: SpokenText | None = None
    announce_position: StrictBool = True
    music: HttpUrl | None = None
    on_timeout: Literal["callback", "hangup"] = "callback"


def _machine(value: Any) -> Any:
    if value == "hangup":
        return {}
    if isinstance(value, dict):
        return value
    raise ValueError(f"expected hangup or {{say: ...}}, got {describe(value)}")


class Machine(Section):
    """When an answering machine picks up: hang up, or leave `say` after the beep."""

    say: SpokenText | None = None

    @property
    def leaves_message(self) -> bool:
        return self.say is not None


def _scale(value: Any) -> tuple[int, int]:
    expected = "expected [lowest, highest] answer keys, e.g. [1, 5]"
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{expected}, got {describe(value)}")
    for key in value:
        if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= 9:
            raise ValueError(f"{expected}: each a key from 0 to 9, got {describe(key)}")
    low, high = value
    if low >= high:
        raise ValueError(
            f"the lowest answer {low} must come before the highest {high}, e.g. [1, 5]"
        )
    return low, high


SURVEY_THANKS = (
    "ご回答いただき、誠にありがとうございました。"
    "今後のサービス向上に役立ててまいります。失礼いたします。"
)


class Survey(Section):
    """A question answered with one key on a scale (満足度調査), e.g. 1 = 不満 … 5 = 満足.

    Asked by a menu key with `action: survey`, or, when no key has that action, straight
    after the greeting; then the menu keys outside the scale (an opt-out key, say) still act.
    The answer is stored as a number, so that counts and the mean can be reported per campaign.
    """

    question: SpokenText
    scale: Annotated[tuple[int, int], PlainValidator(_scale)] = (1, 5)
    thanks: SpokenText = SURVEY_THANKS

    @property
    def keys(self) -> list[str]:
        """The answer keys, lowest first."""
        low, high = self.scale
        return [str(key) for key in range(low, high + 1)]


class Ivr(Section):
    """The automated part of the call, in Japanese."""

    voice: Voice = "Polly.Mizuki"
    language: Literal["ja-JP"] = "ja-JP"
    greeting: SpokenText
    menu: dict[MenuKey, MenuItem] = Field(default_factory=dict)
    no_input: NoInput = Field(default_factory=NoInput)
    hold: Hold = Field(default_factory=Hold)
    machine: Annotated[Machine, BeforeValidator(_machine)] = Field(default_factory=Machine)
    survey: Survey | None = None

    def keys_for(self, action: MenuAction) -> list[str]:
        """The menu keys that trigger `action`."""
        return [key for key, item in self.menu.items() if item.action == action]

    def reaches_agent(self) -> bool:
        """Whether some path through the IVR ends in the hold queue."""
        return bool(self.keys_for("agent")) or self.no_input.then == "agent"

    @property
    def asks_survey_first(self) -> bool:
        """Whether the greeting leads straight into the survey question (no key asks it)."""
        return self.survey is not None and not self.keys_for("survey")
