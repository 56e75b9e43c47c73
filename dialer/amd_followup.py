"""What a live call needs once asynchronous answering machine detection has its verdict.

Every call asks for detection in the background (`AsyncAmd`), so that a person who answers
hears the greeting at once instead of seconds of silence (a silent pickup is the 無言電話 that
customers complain about). The verdict then comes as a callback while the call goes on, and the
call must be acted on through the REST API, as Twilio's own guide for voicemail drops does:

- a campaign that leaves a message asked for `DetectMessageEnd`: on a `machine_end_*` verdict
  (the beep, silence, or the greeting's end) the call is redirected to its voice URL, which now
  finds the machine verdict on the attempt and says the message, then hangs up;
- a campaign whose `machine` action is to hang up, and any fax, is hung up on at once rather
  than letting the greeting play into a recorder.

Only a verdict that changed the attempt gets a follow-up, so a repeated callback does not
restart the message. The web layer asks here and makes the REST call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from dialer.campaigns import Campaign
from dialer.models import Attempt
from dialer.outcomes import MACHINE_ANSWERS

FAX: Final = "fax"
#: The verdicts `DetectMessageEnd` gives once the machine's greeting is over.
MESSAGE_END: Final = frozenset({"machine_end_beep", "machine_end_silence", "machine_end_other"})


@dataclass(frozen=True)
class Followup:
    """Redirect the call to `redirect_to`, or hang it up when that is None."""

    call_sid: str
    redirect_to: str | None


def machine_followup(
    attempt: Attempt, campaign: Campaign, voice_url: str, *, verdict_before: str | None
) -> Followup | None:
    """The follow-up for `attempt` after an AMD callback, or None (a person, no new verdict,
    a call already over, or a message campaign still waiting for the beep)."""
    verdict = attempt.answered_by
    if verdict == verdict_before or verdict not in MACHINE_ANSWERS or attempt.call_sid is None:
        return None
    if attempt.status is not None and attempt.status.is_final:
        return None
    if verdict == FAX or not campaign.ivr.machine.leaves_message:
        return Followup(attempt.call_sid, None)
    if verdict in MESSAGE_END:
        return Followup(attempt.call_sid, voice_url)
    return None
