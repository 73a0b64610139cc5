"""The webhooks service: endpoints, signed deliveries, retries and dead letters."""
