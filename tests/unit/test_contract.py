"""The contract in gen/ is fresh, and everything generated from it is consistent."""

import json

from openapi_spec_validator import validate

from framelane_core import protogen
from framelane_core.descriptors import GEN_DIR, load_contract
from framelane_core.errors import HTTP_STATUS_BY_CODE
from framelane_gateway.envoy import EnvoyLayout, build_config, lua_source, routes


def test_generated_code_is_not_stale():
    assert protogen.check() == [], "run `make protos`"


def test_openapi_is_valid_31_and_lists_every_route():
    doc = json.loads((GEN_DIR / "openapi.json").read_text())
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    contract = load_contract()
    for route in contract.routes:
        assert route.verb in doc["paths"][route.path], route
    assert doc["paths"]["/v1/api-keys"]["post"]["responses"].keys() >= {"201", "default"}
    assert doc["paths"]["/v1/capabilities"]["get"]["security"] == []
    usage = doc["components"]["schemas"]["framelane_usage_v1_WorkspaceUsage"]
    assert set(usage["required"]) >= {"render_minutes", "task_count", "egress_bytes"}


def test_internal_methods_are_not_routed_to_services():
    table = routes(load_contract())
    denied = [r["match"]["path"] for r in table if "path" in r["match"]]
    assert "/framelane.usage.v1.AccountService/Authenticate" in denied
    first_forward = next(i for i, r in enumerate(table) if "route" in r)
    assert all("direct_response" in r for r in table[:first_forward])
    assert table[-1]["match"] == {"prefix": "/"} and table[-1]["direct_response"]["status"] == 404


def test_envoy_config_transcodes_every_rest_service_from_the_descriptor_set():
    config = build_config(EnvoyLayout(upstreams=(("usage", "10.0.0.1:1"),)))
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    transcoder = next(f for f in hcm["http_filters"] if f["name"].endswith("grpc_json_transcoder"))["typed_config"]
    assert transcoder["services"] == load_contract().services()
    assert transcoder["print_options"]["preserve_proto_field_names"] is True
    usage = next(c for c in config["static_resources"]["clusters"] if c["name"] == "usage")
    address = usage["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert address == {"address": "10.0.0.1", "port_value": 1}


def test_lua_knows_every_code_with_its_own_status():
    source = lua_source()
    for code, status in HTTP_STATUS_BY_CODE.items():
        assert f'["{code}"] = {status}' in source
