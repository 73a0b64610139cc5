"""The gateway: Envoy (REST faces transcoded from gRPC) and a small edge service (system routes,
the merged capabilities catalog)."""
