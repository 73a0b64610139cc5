"""A real SMTP server on loopback (aiosmtpd) that keeps the messages it receives."""

import re
import time
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from framelane_core.devmesh import free_port


class Mailbox:
    def __init__(self):
        self.messages = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def start(self) -> "Mailbox":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def code_for(self, email: str, timeout: float = 10.0, after: int = 0) -> str:
        """The 6-digit code of the newest message to `email` past the first `after` ones."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mine = [m for rcpt, m in self.messages if email in rcpt]
            if len(mine) > after:
                body = mine[-1].get_body(("plain",)).get_content()
                return re.search(r"\b(\d{6})\b", body).group(1)
            time.sleep(0.05)
        raise AssertionError(f"no mail to {email}")
