"""OpenAPI 3.1 for the REST faces, generated from the descriptor set (never hand-written)."""

import copy
import json
from pathlib import Path

from google.protobuf import descriptor_pb2

from framelane_core.descriptors import Contract

FDP = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    FDP.TYPE_DOUBLE: {"type": "number"},
    FDP.TYPE_FLOAT: {"type": "number"},
    FDP.TYPE_INT32: {"type": "integer", "format": "int32"},
    FDP.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FDP.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FDP.TYPE_UINT32: {"type": "integer", "minimum": 0},
    FDP.TYPE_FIXED32: {"type": "integer", "minimum": 0},
    # proto3 JSON prints 64-bit integers as strings.
    FDP.TYPE_INT64: {"type": "string", "format": "int64"},
    FDP.TYPE_SINT64: {"type": "string", "format": "int64"},
    FDP.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    FDP.TYPE_UINT64: {"type": "string", "format": "uint64"},
    FDP.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    FDP.TYPE_BOOL: {"type": "boolean"},
    FDP.TYPE_STRING: {"type": "string"},
    FDP.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}
_WELL_KNOWN = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.Int32Value": {"type": "integer"},
    "google.protobuf.DoubleValue": {"type": "number"},
    "google.protobuf.BoolValue": {"type": "boolean"},
}


class _Builder:
    def __init__(self, contract: Contract):
        self.contract = contract
        self.messages = {}
        for f in contract.fds.file:
            for m in f.message_type:
                self._index(f.package, m)
        self.comments = contract.comments()
        self.schemas: dict[str, dict] = {}

    def _index(self, prefix, msg):
        name = f"{prefix}.{msg.name}"
        self.messages[name] = msg
        for n in msg.nested_type:
            self._index(name, n)

    def ref(self, type_name: str) -> dict:
        if type_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[type_name])
        key = type_name.replace(".", "_")
        if key not in self.schemas:
            self.schemas[key] = {}  # placeholder breaks recursion
            self.schemas[key] = self.message_schema(type_name)
        return {"$ref": f"#/components/schemas/{key}"}

    def beatapi_error(self) -> dict:
        """The BeatAPI face's error envelope: the native one, whose `details` is left out when there
        are none (the edge drops a null one) instead of being null."""
        key = "beatapi_ErrorEnvelope"
        if key not in self.schemas:
            self.ref("framelane.api.v1.ErrorEnvelope")
            body = copy.deepcopy(self.schemas["framelane_api_v1_ErrorBody"])
            body["required"] = [name for name in body.get("required", []) if name != "details"]
            self.schemas["beatapi_ErrorBody"] = body
            self.schemas[key] = {"type": "object", "properties": {"error": {"$ref": "#/components/schemas/beatapi_ErrorBody"}},
                                 "required": ["error"]}
        return {"$ref": f"#/components/schemas/{key}"}

    def message_schema(self, type_name: str, skip: set[str] = frozenset()) -> dict:
        msg = self.messages[type_name]
        props, required = {}, []
        for field in msg.field:
            if field.name in skip:
                continue
            props[field.name] = self.field_schema(type_name, field)
            always_printed = not field.proto3_optional and (
                field.type not in (FDP.TYPE_MESSAGE, FDP.TYPE_GROUP) or field.label == FDP.LABEL_REPEATED
            )
            if always_printed or field.type_name == ".google.protobuf.Value":
                required.append(field.name)
        schema = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        if type_name in self.comments:
            schema["description"] = self.comments[type_name]
        return schema

    def field_schema(self, owner: str, field) -> dict:
        type_name = field.type_name.lstrip(".")
        entry = self.messages.get(type_name)
        if entry is not None and entry.options.map_entry:
            value = entry.field[1]
            return {"type": "object", "additionalProperties": self.field_schema(type_name, value)}
        if field.type == FDP.TYPE_MESSAGE:
            schema = self.ref(type_name)
        elif field.type == FDP.TYPE_ENUM:
            schema = {"type": "string"}
        else:
            schema = dict(_SCALARS[field.type])
        extra = self.contract.field_schema(field)
        if extra is not None:
            if extra.enum:
                schema["enum"] = list(extra.enum)
            if extra.format:
                schema["format"] = extra.format
            if extra.value_type:
                schema = {"type": [extra.value_type, "null"], **({"format": extra.format} if extra.format else {})}
            for name, key in (("minimum", "minimum"), ("maximum", "maximum"), ("min_length", "minLength"),
                              ("max_length", "maxLength")):
                if extra.HasField(name):
                    value = getattr(extra, name)
                    schema[key] = int(value) if float(value).is_integer() else value
        description = self.comments.get(f"{owner}.{field.name}")
        if description and "$ref" not in schema:
            schema["description"] = description
        if field.label == FDP.LABEL_REPEATED:
            return {"type": "array", "items": schema}
        return schema

    def operation(self, route) -> dict:
        msg = self.messages[route.input_type]
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in route.path_params
        ]
        if route.body != "*":
            for field in msg.field:
                if field.name in route.path_params or field.type == FDP.TYPE_MESSAGE:
                    continue
                schema = self.field_schema(route.input_type, field)
                params.append({"name": field.name, "in": "query", "required": False, "schema": schema})
        op = {
            # framelane.<package>.v1.<Service>: the BeatAPI face's services share short names with
            # native ones, so its operation ids carry the package.
            "operationId": ("beatapi_" if route.service.split(".")[1] == "beatapi" else "")
            + f"{route.service.split('.')[-1]}_{route.method}",
            "tags": [route.service.split(".")[1]],
            "parameters": params,
            "responses": {},
        }
        if route.body and route.body != "*":
            field = next(f for f in msg.field if f.name == route.body)
            schema = self.field_schema(route.input_type, field)
            description = self.comments.get(f"{route.input_type}.{route.body}")
            op["requestBody"] = {"required": False, "content": {"application/json": {"schema": schema}},
                                 **({"description": description} if description else {})}
        summary = self.comments.get(f"{route.service}.{route.method}")
        if summary:
            op["description"] = summary
        if route.body == "*":
            # Unknown fields are ignored (as the contract says) and an absent body is an empty message.
            body = self.message_schema(route.input_type, skip=set(route.path_params))
            op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
        status = str(route.success_status)
        if route.output_type == "google.protobuf.Empty" or status == "204":
            op["responses"][status] = {"description": "Success, no content"}
        elif route.output_type == "google.api.HttpBody":
            op["responses"][status] = {"description": "Success", "content": {"application/json": {"schema": {}}}}
        else:
            op["responses"][status] = {
                "description": "Success",
                "content": {"application/json": {"schema": self.ref(route.output_type)}},
            }
        beatapi = route.service.split(".")[1] == "beatapi"
        envelope = self.beatapi_error() if beatapi else self.ref("framelane.api.v1.ErrorEnvelope")
        op["responses"]["default"] = {"description": "Error", "content": {"application/json": {"schema": envelope}}}
        if route.public:
            op["security"] = []
        return op


def build_openapi(contract: Contract) -> dict:
    """The OpenAPI 3.1 document of every public route in the contract."""
    b = _Builder(contract)
    paths: dict[str, dict] = {}
    for route in sorted(contract.routes, key=lambda r: (r.path, r.verb)):
        paths.setdefault(route.path, {})[route.verb] = b.operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Framelane API",
            "version": "v1",
            "description": "One JSON request becomes a finished video. Generated from the gRPC protos.",
        },
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(b.schemas.items())),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "fl_live_..."}},
        },
    }


def write_openapi(descriptor_set: Path, out: Path) -> None:
    """Writes the OpenAPI document of a descriptor set as stable, sorted JSON."""
    doc = build_openapi(Contract(descriptor_set.read_bytes()))
    out.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
