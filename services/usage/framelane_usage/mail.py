"""Outgoing mail through SMTP (the standard library's smtplib, in a worker thread).

With no FRAMELANE_SMTP_HOST (`make run`) the message is logged at WARNING instead, so a developer
can read the code from the log; nothing is sent."""

import asyncio
import logging
import smtplib
from email.message import EmailMessage

from framelane_core.errors import Unavailable

log = logging.getLogger(__name__)


class Mailer:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0):
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    async def send(self, to: str, subject: str, body: str, dev_note: str = "") -> None:
        if not self.host:
            log.warning("development: no SMTP configured (FRAMELANE_SMTP_HOST is empty); mail to %s not sent: %s",
                        to, dev_note or subject)
            return
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, to, subject
        msg.set_content(body)
        try:
            await asyncio.to_thread(self._send, msg)
        except (OSError, smtplib.SMTPException) as err:
            log.error("sending mail failed", extra={"fields": {"smtp_host": self.host, "error": str(err)}})
            raise Unavailable("The verification email could not be sent; try again shortly.") from None

    def _send(self, msg: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(msg)

    async def send_signup_code(self, to: str, workspace_name: str, code: str, minutes: int) -> None:
        await self.send(
            to, f"Your Framelane verification code: {code}",
            f"Your verification code for the Framelane workspace \"{workspace_name}\" is\n\n    {code}\n\n"
            f"It expires in {minutes} minutes. Verify it with POST /v1/signup/verify "
            "{\"email\": ..., \"otp_code\": ...}.\nIf you did not sign up, ignore this message.\n",
            dev_note=f"signup verification code for {to} is {code}",
        )
