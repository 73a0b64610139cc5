"""Cross-cutting code shared by every Framelane service: config, logging, metrics, database and
migrations, NATS with the outbox relay and idempotent consumers, the gRPC server bootstrap with
health, reflection, errors and auth, and safe URL fetching."""
