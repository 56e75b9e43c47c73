"""Reading TwiML answers in tests: parsed XML, never string comparison of whitespace."""

from __future__ import annotations

import xml.etree.ElementTree as ET

VOICE = "Polly.Takumi"
"""The voice of the IVR test campaigns (`tests.factories.IVR_CAMPAIGNS_YAML`)."""


def twiml(response: object) -> ET.Element:
    """The `<Response>` of a 200 text/xml answer."""
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.mimetype == "text/xml"  # type: ignore[attr-defined]
    root = ET.fromstring(response.get_data(as_text=True))  # type: ignore[attr-defined]
    assert root.tag == "Response"
    return root


def says(root: ET.Element) -> list[str]:
    """Every spoken text, in order."""
    return [say.text or "" for say in root.iter("Say")]


def assert_japanese_voice(root: ET.Element, voice: str = VOICE) -> None:
    """Every `<Say>` speaks Japanese in the campaign's voice."""
    for say in root.iter("Say"):
        assert say.get("language") == "ja-JP"
        assert say.get("voice") == voice
