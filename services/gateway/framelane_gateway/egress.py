"""Egress metering: bytes the blob route serves through signed URLs, counted per workspace (the
workspace is signed into every link) and reported every few seconds as one `egress.served` event
per workspace on the gateway's stream; the usage service meters each event once (egress_bytes).

Counts live in memory until JetStream acknowledged them. A report that failed (NATS away) is
published again with the same event id, so JetStream's duplicate window drops a second copy. A
gateway killed between reports loses at most the last interval's counts."""

import logging
from collections import defaultdict

from framelane.gateway.v1 import events_pb2
from framelane_core import bus, metrics
from framelane_core.lifecycle import Every

log = logging.getLogger(__name__)
SERVICE = "gateway"
EVENT_TYPE = "egress.served"


class EgressMeter:
    """Background runner: add() counts, run() reports every `interval` seconds, stop() reports the rest."""

    def __init__(self, js, interval: float = 5.0):
        self.js = js
        self._counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self._unsent: list = []  # events built but not yet acknowledged
        self._every = Every(interval, self.report, "egress report")  # its last tick follows stop()

    def add(self, workspace: str, nbytes: int) -> None:
        if not workspace or nbytes <= 0:
            return
        counts = self._counts[workspace]
        counts[0] += nbytes
        counts[1] += 1
        metrics.EGRESS_BYTES.inc(nbytes)

    async def run(self) -> None:
        await bus.ensure_stream(self.js, SERVICE)
        await self._every.run()

    async def report(self) -> None:
        """Turns the counts into events and publishes every unsent one (in order)."""
        counts, self._counts = self._counts, defaultdict(lambda: [0, 0])
        for workspace, (nbytes, responses) in counts.items():
            payload = events_pb2.EgressServed(bytes=nbytes, responses=responses)
            self._unsent.append(bus.make_event(EVENT_TYPE, workspace, payload))
        while self._unsent:
            event = self._unsent[0]
            try:
                await self.js.publish(bus.subject(SERVICE, event.type), event.SerializeToString(),
                                      headers={"Nats-Msg-Id": event.id}, timeout=5)
            except Exception:  # noqa: BLE001 - NATS away: keep them for the next report
                log.warning("egress report not published; kept", extra={"fields": {"unsent": len(self._unsent)}})
                return
            self._unsent.pop(0)

    def stop(self) -> None:
        self._every.stop()
