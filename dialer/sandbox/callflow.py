"""A call's life, from Twilio's queue to its final status, on a thread of its own.

queued (until the account's next CPS slot) → initiated → ringing → busy, no-answer, failed,
or in-progress → completed; canceled when the REST API ends it before the answer. The flow
thread alone posts the status callbacks; REST updates change the call and wake the thread.

Status callbacks go to `StatusCallback` for the events asked for (`completed` alone by
default), with Twilio's fields; a call canceled while still queued sends none, as on Twilio.
With async AMD the verdict is posted to `AsyncAmdStatusCallback` when detection ends; with
sync AMD the answer waits for it and the first TwiML request carries `AnsweredBy`.
"""

from __future__ import annotations

import logging
import math
from email.utils import format_datetime
from typing import Final

from dialer.sandbox.callee import amd_verdict
from dialer.sandbox.calls import AmdVerdict, Call, Status
from dialer.sandbox.interpreter import Interpreter
from dialer.sandbox.live import CallEnded, Jump, LiveCall, Wake
from dialer.sandbox.runtime import Runtime

logger = logging.getLogger(__name__)

#: From dialling to the first ring.
SETUP_SECONDS: Final = 1.0
SIP_CODES: Final = {
    Status.COMPLETED: 200,
    Status.BUSY: 486,
    Status.NO_ANSWER: 487,
    Status.CANCELED: 487,
}
EVENT_OF_STATUS: Final = {
    Status.INITIATED: "initiated",
    Status.RINGING: "ringing",
    Status.IN_PROGRESS: "answered",
}


class CallFlow:
    """Plays one call; `run` is the body of its thread."""

    def __init__(self, rt: Runtime, call: Call, slot: float) -> None:
        self.rt = rt
        self.call = call
        self.slot = slot
        self.live = LiveCall(rt, call)

    def run(self) -> None:
        try:
            if self._wait_for_slot():
                self._dial()
                self._report_end()
        except Exception:
            logger.exception("sandbox call %s broke down", self.call.sid)
            self._end(Status.FAILED, reason="sandbox-error")
            self._report_end()
        finally:
            self.rt.outbox.close_lane(self.call.sid)
            self.rt.outbox.close_lane(amd_lane(self.call.sid))
            self.call.done.set()

    def _wait_for_slot(self) -> bool:
        """Hold the call in Twilio's queue until its CPS slot; False if it never leaves."""
        clock = self.rt.clock
        wake = self.live.wait(clock.simulated_seconds(self.slot - clock.real()))
        return wake is Wake.ELAPSED

    def _dial(self) -> None:
        clock, behaviour = self.rt.clock, self.call.behaviour
        now = clock.now()
        with self.rt.store.lock:
            if self.call.is_final:
                return
            self.call.start_time = now
        if not self._move(Status.INITIATED):
            return
        if behaviour.outcome == "failed":
            if self.live.wait(behaviour.ring_seconds) is Wake.ELAPSED:
                self._end(Status.FAILED, error=str(behaviour.error_code))
            return
        if self.live.wait(SETUP_SECONDS) is not Wake.ELAPSED or not self._move(Status.RINGING):
            return
        timeout = self.call.options.timeout_seconds
        if behaviour.outcome == "busy" and behaviour.ring_seconds <= timeout:
            if self.live.wait(behaviour.ring_seconds) is Wake.ELAPSED:
                self._end(Status.BUSY)
            return
        answers_in = behaviour.ring_seconds if behaviour.answers else math.inf
        if answers_in > timeout:
            if self.live.wait(timeout) is Wake.ELAPSED:
                self._end(Status.NO_ANSWER)
            return
        if self.live.wait(answers_in) is Wake.ELAPSED:
            self._converse()

    def _converse(self) -> None:
        with self.rt.store.lock:
            if self.call.is_final:
                return
            self.call.answered_at = self.rt.clock.now()
        if not self._move(Status.IN_PROGRESS):
            return
        self.live.callee_answers()
        try:
            fields = self._detect_machine()
            with self.rt.store.lock:
                answer = self.call.answer
            Interpreter(self.live).run(Jump(answer, "answer", fields))
            self.live.record("twiml-ended")
        except CallEnded as ended:
            if ended.reason == "stopping":
                return
            if ended.reason == "callee":
                self.live.record("callee-hung-up")
        self._end(Status.COMPLETED)

    def _detect_machine(self) -> dict[str, str]:
        """Start answering machine detection; the fields the first TwiML request carries."""
        options = self.call.options
        if options.machine_detection is None:
            return {}
        answered_by, seconds = amd_verdict(
            self.call.behaviour, options.machine_detection, options.machine_detection_timeout
        )
        verdict = AmdVerdict(answered_by, round(seconds * 1000), self.rt.clock.deadline(seconds))
        with self.rt.store.lock:
            self.call.amd = verdict
        fields = {"MachineDetectionDuration": str(verdict.detection_ms)}
        if not options.async_amd:
            wake = self.live.wait(seconds)
            if wake not in (Wake.ELAPSED, Wake.REDIRECTED):
                raise self.live.interruption(wake)
            self.live.record("amd", answered_by=answered_by)
            return fields
        if options.amd_callback is not None:
            params = {
                "AccountSid": self.call.account_sid,
                "CallSid": self.call.sid,
                "AnsweredBy": answered_by,
                **fields,
            }
            self.rt.outbox.submit(
                amd_lane(self.call.sid),
                self.call.sid,
                "amd",
                options.amd_callback,
                params,
                rng=self.live.rng,
                delay_seconds=seconds,
            )
        return {}

    def _move(self, status: Status) -> bool:
        """Take a live status and report it; False once the call has ended."""
        with self.rt.store.lock:
            moved = self.call.move_to(status, self.rt.clock.now())
        if moved:
            self._report(EVENT_OF_STATUS[status])
        return moved

    def _end(self, status: Status, **detail: str) -> None:
        with self.rt.store.lock:
            self.call.finish(status, self.rt.clock.now(), **detail)

    def _report_end(self) -> None:
        """The `completed` event, whichever final status the call has (none if never dialled)."""
        with self.rt.store.lock:
            dialled = self.call.start_time is not None and self.call.is_final
        if dialled:
            self._report("completed")

    def _report(self, event: str) -> None:
        options = self.call.options
        if options.status_callback is None or event not in options.status_events:
            return
        with self.rt.store.lock:
            status = self.call.status
            timestamp = self.call.date_updated or self.rt.clock.now()
            duration = self.call.duration_seconds()
        fields = {
            "Timestamp": format_datetime(timestamp),
            "SequenceNumber": str(next(self.live.sequence)),
            "CallbackSource": "call-progress-events",
        }
        if status.is_final:
            seconds = duration or 0
            fields |= {"CallDuration": str(seconds), "Duration": str(math.ceil(seconds / 60))}
            fields["SipResponseCode"] = str(
                SIP_CODES.get(status, self.call.behaviour.sip_response_code)
            )
            if status is Status.FAILED:
                fields["ErrorCode"] = str(self.call.behaviour.error_code)
        params = self.live.params(**fields)
        self.rt.outbox.submit(
            self.call.sid,
            self.call.sid,
            "status",
            options.status_callback,
            params,
            rng=self.live.rng,
        )


def amd_lane(sid: str) -> str:
    """The outbox lane of a call's AMD callback, apart from its status callbacks."""
    return f"{sid}/amd"
