"""Generates Envoy's configuration from the contract: one generator for `make run`, the tests and
deploy/k8s (only the addresses differ).

Routes: transcoded requests carry their gRPC path and go to the owning service's cluster;
internal-only methods are refused at the edge; a REST path asked with a verb it does not serve is
405; anything else is 404. The Lua filter shapes statuses and error envelopes (edge.lua)."""

import argparse
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from framelane_core.config import BACKENDS, GATEWAY_HTTP_PORT, service_addr
from framelane_core.descriptors import Contract, load_contract, GEN_DIR
from framelane_core.errors import HTTP_STATUS_BY_CODE

# Stable codes for errors Envoy makes itself, by HTTP status.
CODE_BY_STATUS = {
    400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    408: "timeout", 409: "conflict", 413: "payload_too_large", 429: "rate_limited", 431: "invalid_request",
    499: "cancelled", 500: "internal_error", 501: "not_implemented", 502: "unavailable", 503: "unavailable",
    504: "timeout",
}
DEFAULT_MESSAGE = {
    "not_found": "No such route.", "method_not_allowed": "Method not allowed on this route.",
    "unavailable": "Service unavailable.", "timeout": "Upstream timed out.",
}
# The BeatAPI face's vocabulary (reference §B10): our stable code → BeatAPI's; codes not listed
# are shown as they are. BEATAPI_STATUS: the HTTP status BeatAPI gives its codes.
BEATAPI_CODE = {
    "invalid_request": "bad_request", "unsupported_content_type": "bad_request", "source_not_allowed": "bad_request",
    "source_not_found": "bad_request", "invalid_source": "bad_request", "codec_unsupported": "bad_request",
    "method_not_allowed": "bad_request", "payload_too_large": "bad_request", "email_not_verified": "unauthorized",
    "quota_exceeded": "insufficient_credits", "rate_limited": "rate_limit_exceeded",
    "concurrency_exceeded": "user_concurrency_exceeded", "unavailable": "processing_unavailable",
    "timeout": "processing_unavailable",
}
BEATAPI_STATUS = {
    "bad_request": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, "insufficient_credits": 402,
    "rate_limit_exceeded": 429, "user_concurrency_exceeded": 429, "processing_unavailable": 503,
    "internal_error": 500,
}
CLUSTERS = (*BACKENDS, "gateway")
# Largest transcoded request body: BeatAPI files (50 MB) plus multipart framing.
FILE_BODY_MAX_BYTES = 52 * 1024 * 1024
BLOB_CLUSTER = "gateway_http"


@dataclass(frozen=True)
class EnvoyLayout:
    """Where Envoy listens and where each service's gRPC server is."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    admin_port: int = 9901
    descriptor_path: str = str(GEN_DIR / "descriptors.pb")
    upstreams: tuple[tuple[str, str], ...] = ()

    def upstream(self, cluster: str) -> tuple[str, int]:
        default = f"{service_addr('gateway').rpartition(':')[0]}:{GATEWAY_HTTP_PORT}" if cluster == BLOB_CLUSTER else None
        addr = dict(self.upstreams).get(cluster) or default or service_addr(cluster)
        host, _, port = addr.rpartition(":")
        return host, int(port)


def owner(contract: Contract, grpc_service: str) -> str:
    """The cluster that serves a gRPC service: its service_policy.owner, else framelane.<svc>.v1.X → <svc>."""
    part = next(m.owner for m in contract.methods.values() if m.service == grpc_service)
    return part if part in BACKENDS else "gateway"


def _lua_table(name: str, mapping: dict) -> str:
    items = ", ".join(f'[{json.dumps(k)}] = {json.dumps(v)}' for k, v in sorted(mapping.items(), key=str))
    return f"{name} = {{{items}}}\n"


def lua_source() -> str:
    """edge.lua with its tables filled in from the error catalog."""
    tables = (
        _lua_table("STATUS_BY_CODE", HTTP_STATUS_BY_CODE)
        + _lua_table("CODE_BY_STATUS", CODE_BY_STATUS)
        + _lua_table("DEFAULT_MESSAGE", DEFAULT_MESSAGE)
        + _lua_table("BEATAPI_CODE", BEATAPI_CODE)
        + _lua_table("BEATAPI_STATUS", BEATAPI_STATUS)
        + f"BODY_MAX_BYTES = {FILE_BODY_MAX_BYTES}\n"
    )
    return tables + (files("framelane_gateway") / "edge.lua").read_text()


def _direct(status: int, body: str) -> dict:
    return {"status": status, "body": {"inline_string": body}}


def routes(contract: Contract) -> list[dict]:
    """The route table, most specific first."""
    out = []
    for path, info in sorted(contract.methods.items()):
        if info.internal:
            out.append({"match": {"path": path}, "direct_response": _direct(404, "No such route.")})
    grpc_services = sorted({m.service for m in contract.methods.values()})
    for service in grpc_services:
        out.append({
            "match": {"prefix": f"/{service}/"},
            "route": {"cluster": owner(contract, service), "timeout": "60s", "idle_timeout": "60s"},
        })
    for template in sorted({r.path for r in contract.routes}):
        route = next(r for r in contract.routes if r.path == template)
        out.append({
            "match": {"safe_regex": {"regex": route.path_regex()}},
            "direct_response": _direct(405, "Method not allowed on this route."),
        })
    out.append({
        "match": {"prefix": "/blobs/", "headers": [{"name": ":method", "string_match": {"safe_regex": {"regex": "^(GET|HEAD)$"}}}]},
        "route": {"cluster": BLOB_CLUSTER, "timeout": "0s"},
    })
    out.append({
        "match": {"prefix": "/uploads/", "headers": [{"name": ":method", "string_match": {"exact": "PUT"}}]},
        "route": {"cluster": BLOB_CLUSTER, "timeout": "0s", "idle_timeout": "300s"},
    })
    out.append({"match": {"prefix": "/"}, "direct_response": _direct(404, "No such route.")})
    return out


def _cluster(name: str, layout: EnvoyLayout) -> dict:
    host, port = layout.upstream(name)
    http2 = {
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    } if name != BLOB_CLUSTER else {}
    return {
        "name": name,
        "type": "STRICT_DNS",
        "connect_timeout": "2s",
        "lb_policy": "ROUND_ROBIN",
        **http2,
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}}]}],
        },
    }


def build_config(layout: EnvoyLayout, contract: Contract | None = None) -> dict:
    """The complete Envoy bootstrap as a dict."""
    contract = contract or load_contract(Path(layout.descriptor_path))
    http_filters = [
        {
            "name": "envoy.filters.http.lua",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                "default_source_code": {"inline_string": lua_source()},
            },
        },
        {
            "name": "envoy.filters.http.grpc_json_transcoder",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
                "proto_descriptor": layout.descriptor_path,
                "services": contract.services(),
                "print_options": {
                    "add_whitespace": False,
                    "always_print_primitive_fields": True,
                    "always_print_enums_as_ints": False,
                    "preserve_proto_field_names": True,
                },
                "convert_grpc_status": True,
                # BeatAPI's POST /files carries up to 50 MB in one google.api.HttpBody.
                "max_request_body_size": FILE_BODY_MAX_BYTES,
                "ignore_unknown_query_parameters": True,
                "request_validation_options": {"reject_unknown_method": False},
            },
        },
        {"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
    ]
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "rest",
        "codec_type": "AUTO",
        "generate_request_id": True,
        "always_set_request_id_in_response": True,
        "max_request_headers_kb": 64,
        "stream_idle_timeout": "300s",
        "request_timeout": "120s",
        "route_config": {
            "name": "framelane",
            "virtual_hosts": [{"name": "framelane", "domains": ["*"], "routes": routes(contract)}],
        },
        "http_filters": http_filters,
        "access_log": [{
            "name": "envoy.access_loggers.stdout",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
                "log_format": {"json_format": {
                    "ts": "%START_TIME%", "service": "envoy", "method": "%REQ(:METHOD)%",
                    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", "status": "%RESPONSE_CODE%",
                    "duration_ms": "%DURATION%", "request_id": "%REQ(X-REQUEST-ID)%", "upstream": "%UPSTREAM_CLUSTER%",
                }},
            },
        }],
    }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": layout.admin_port}}},
        "static_resources": {
            "listeners": [{
                "name": "rest",
                "address": {"socket_address": {"address": layout.listen_host, "port_value": layout.listen_port}},
                "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}],
            }],
            "clusters": [_cluster(c, layout) for c in (*CLUSTERS, BLOB_CLUSTER)],
        },
    }


def write_config(layout: EnvoyLayout, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(build_config(layout), indent=1) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Write Envoy's configuration for the mesh.")
    parser.add_argument("--out", required=True)
    parser.add_argument("--listen", default="127.0.0.1:8080")
    parser.add_argument("--admin-port", type=int, default=9901)
    parser.add_argument("--descriptor", default=str(GEN_DIR / "descriptors.pb"))
    parser.add_argument("--upstream", action="append", default=[], help="name=host:port (default from env)")
    ns = parser.parse_args()
    host, _, port = ns.listen.rpartition(":")
    ups = tuple(tuple(u.split("=", 1)) for u in ns.upstream)
    write_config(EnvoyLayout(host, int(port), ns.admin_port, ns.descriptor, ups), Path(ns.out))


if __name__ == "__main__":
    main()
