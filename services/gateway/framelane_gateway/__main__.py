"""`python -m framelane_gateway` serves the edge gRPC service Envoy routes system calls to."""

from framelane_core.lifecycle import run
from framelane_gateway.app import GatewayApp

run(GatewayApp())
