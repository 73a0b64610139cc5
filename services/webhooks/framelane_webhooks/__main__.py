"""`python -m framelane_webhooks` serves the webhooks service."""

from framelane_core.lifecycle import run
from framelane_webhooks.app import WebhooksApp

run(WebhooksApp())
