"""Without FRAMELANE_SMTP_HOST (`make run`) the signup code is logged, clearly marked, not sent."""

import logging

from framelane_usage.mail import Mailer


async def test_no_smtp_host_logs_the_code_at_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="framelane_usage.mail"):
        await Mailer("", 25, "x@y").send_signup_code("ada@example.com", "Acme", "123456", 10)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "development: no SMTP configured" in record.getMessage() and "123456" in record.getMessage()
