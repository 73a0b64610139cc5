"""Writes the `envoy` ConfigMap's files from the one Envoy generator (framelane_gateway.envoy).

`make run`, the tests and Kubernetes share `build_config`; here only the addresses differ (Envoy
listens on 0.0.0.0, upstreams are the in-cluster Services, the descriptor set is mounted at
/etc/envoy), plus what only an edge in a cluster needs (ADDITIONS below, each with its reason):

    base/envoy/envoy.json         plaintext listener :8080 (HTTP/1.1 + h2c: REST and gRPC, in-cluster)
    base/envoy/descriptors.pb     copy of gen/descriptors.pb (kustomize only reads files under its root)
    components/tls/envoy.json     + TLS listener :8443 (ALPN h2/http1.1) with the cert from Secret envoy-tls

    python deploy/k8s/envoy_config.py          # rewrite the files
    python deploy/k8s/envoy_config.py --check  # exit 1 when a committed file is stale (validate.py runs this)
"""

import argparse
import copy
import json
import sys
from pathlib import Path

from framelane_core import config as core_config
from framelane_core.config import SERVICE_PORTS
from framelane_core.descriptors import GEN_DIR, load_contract
from framelane_gateway import envoy as gateway_envoy
from framelane_gateway.envoy import CLUSTERS, EnvoyLayout, build_config

K8S = Path(__file__).resolve().parent
MOUNT = "/etc/envoy"
TLS_MOUNT = "/etc/envoy/tls"
PLAIN_PORT, TLS_PORT, ADMIN_PORT = 8080, 8443, 9901
# Largest JSON body Envoy transcodes: the services' grpc.max_receive_message_length (grpcserver.py).
MAX_BODY_BYTES = 32 * 1024 * 1024

# ADDITIONS to the generator's output, each an edge concern of a shared cluster (candidates to move
# into framelane_gateway.envoy.build_config so `make run` gets them too):
#  - request limits: body size for the transcoder, header count, underscores in headers rejected,
#    HTTP/2 stream/window limits (Envoy's edge best-practice values), a connection cap;
#  - use_remote_address so x-forwarded-for / x-envoy-external-address are Envoy's own view;
#  - upstream clusters re-resolve the headless Services every 5 s (every pod is an endpoint).
HCM_LIMITS = {
    "use_remote_address": True,
    "common_http_protocol_options": {"max_headers_count": 100, "headers_with_underscores_action": "REJECT_REQUEST",
                                     "idle_timeout": "300s"},
    "http2_protocol_options": {"max_concurrent_streams": 100, "initial_stream_window_size": 65536,
                               "initial_connection_window_size": 1048576},
}
MAX_DOWNSTREAM_CONNECTIONS = 50000


def layout() -> EnvoyLayout:
    """The cluster layout: every upstream is the Service <svc> on its code-default gRPC port (and the
    gateway's blob routes on its HTTP port)."""
    upstreams = tuple((name, f"{name}:{SERVICE_PORTS[name][0]}") for name in CLUSTERS)
    blob_cluster = getattr(gateway_envoy, "BLOB_CLUSTER", None)
    if blob_cluster:
        upstreams += ((blob_cluster, f"gateway:{core_config.GATEWAY_HTTP_PORT}"),)
    return EnvoyLayout("0.0.0.0", PLAIN_PORT, ADMIN_PORT, f"{MOUNT}/descriptors.pb", upstreams)


def _harden(config: dict) -> dict:
    for listener in config["static_resources"]["listeners"]:
        listener["per_connection_buffer_limit_bytes"] = 1048576
        for chain in listener["filter_chains"]:
            hcm = chain["filters"][0]["typed_config"]
            hcm.update(copy.deepcopy(HCM_LIMITS))
            for f in hcm["http_filters"]:
                if f["name"] == "envoy.filters.http.grpc_json_transcoder":
                    f["typed_config"]["max_request_body_size"] = MAX_BODY_BYTES
    for cluster in config["static_resources"]["clusters"]:
        cluster["dns_refresh_rate"] = "5s"
        cluster["respect_dns_ttl"] = False
    config["overload_manager"] = {"resource_monitors": [{
        "name": "envoy.resource_monitors.global_downstream_max_connections",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3."
                     "DownstreamConnectionsConfig",
            "max_active_downstream_connections": MAX_DOWNSTREAM_CONNECTIONS,
        },
    }]}
    return config


def plain_config() -> dict:
    """base: one plaintext listener for in-cluster REST and gRPC clients (and dev port-forwards)."""
    contract = load_contract(GEN_DIR / "descriptors.pb")
    return _harden(build_config(layout(), contract))


def tls_config() -> dict:
    """components/tls: the base listener plus a TLS one, same routes and filters, for the internet."""
    config = plain_config()
    plain = config["static_resources"]["listeners"][0]
    tls = copy.deepcopy(plain)
    tls["name"] = "rest_tls"
    tls["address"]["socket_address"]["port_value"] = TLS_PORT
    tls["filter_chains"][0]["transport_socket"] = {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
                # The Secret is mounted as a directory whose ..data symlink is swapped on rotation:
                # watched_directory makes Envoy reload the pair without a restart.
                "tls_certificates": [{
                    "certificate_chain": {"filename": f"{TLS_MOUNT}/tls.crt"},
                    "private_key": {"filename": f"{TLS_MOUNT}/tls.key"},
                    "watched_directory": {"path": TLS_MOUNT},
                }],
            },
        },
    }
    config["static_resources"]["listeners"].append(tls)
    return config


def dumps(config: dict) -> str:
    return json.dumps(config, indent=1, sort_keys=True) + "\n"


def outputs() -> dict[Path, bytes]:
    return {
        K8S / "base/envoy/envoy.json": dumps(plain_config()).encode(),
        K8S / "base/envoy/descriptors.pb": (GEN_DIR / "descriptors.pb").read_bytes(),
        K8S / "components/tls/envoy.json": dumps(tls_config()).encode(),
    }


def stale(root: Path = K8S) -> list[str]:
    """Paths (relative to deploy/k8s) whose committed content differs from the generator's."""
    out = []
    for path, content in outputs().items():
        target = root / path.relative_to(K8S)
        if not target.exists() or target.read_bytes() != content:
            out.append(str(path.relative_to(K8S)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a committed file is stale")
    ns = parser.parse_args()
    if ns.check:
        bad = stale()
        for path in bad:
            print(f"stale: deploy/k8s/{path} (run: python deploy/k8s/envoy_config.py)", file=sys.stderr)
        return 1 if bad else 0
    for path, content in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        print(f"wrote {path.relative_to(K8S.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
