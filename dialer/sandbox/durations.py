"""How long the callee listens to each prompt, in simulated seconds."""

from __future__ import annotations

import math
import unicodedata
from typing import Final

from dialer.sandbox.twiml import Pause, Play, Prompt, Say

WIDE_CHARACTERS_PER_SECOND: Final = 6.0
NARROW_CHARACTERS_PER_SECOND: Final = 14.0
MINIMUM_SPEECH_SECONDS: Final = 0.5


def speech_seconds(text: str) -> float:
    """How long text-to-speech takes to read `text`: about six kana or kanji a second in
    Japanese, fourteen characters a second in Latin script."""
    text = "".join(text.split())
    wide = sum(1 for char in text if unicodedata.east_asian_width(char) in ("W", "F"))
    narrow = len(text) - wide
    seconds = wide / WIDE_CHARACTERS_PER_SECOND + narrow / NARROW_CHARACTERS_PER_SECOND
    return max(MINIMUM_SPEECH_SECONDS, seconds)


def prompt_seconds(prompt: Prompt, play_seconds: float) -> float:
    """The whole prompt with its repeats; `loop="0"` repeats until something interrupts."""
    if isinstance(prompt, Pause):
        return prompt.seconds
    once = speech_seconds(prompt.text) if isinstance(prompt, Say) else play_seconds
    if prompt.loop == 0:
        return math.inf
    return once * prompt.loop


def describe(prompt: Prompt) -> tuple[str, dict[str, str]]:
    """The timeline event and details for a prompt."""
    if isinstance(prompt, Say):
        detail = {"text": prompt.text}
        if prompt.language is not None:
            detail["language"] = prompt.language
        if prompt.voice is not None:
            detail["voice"] = prompt.voice
        return "say", detail
    if isinstance(prompt, Play):
        return "play", {"url": prompt.url}
    return "pause", {"seconds": f"{prompt.seconds:g}"}
