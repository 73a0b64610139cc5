"""Reads the contract out of the descriptor set: every HTTP route with its policy.

The OpenAPI generator, the Envoy configuration generator and the auth interceptor all read the
routes from here, so a route exists in one place: its google.api.http annotation. The set is read
through its own descriptor pool, so this works on freshly generated output before any generated
module is imported."""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

HTTP_VERBS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Route:
    """One REST binding of a gRPC method."""

    service: str  # fully qualified, e.g. framelane.usage.v1.AccountService
    method: str  # e.g. GetWorkspace
    verb: str  # lower case HTTP verb
    path: str  # template, e.g. /v1/api-keys/{key_id}
    body: str  # "", "*" or a field name
    input_type: str
    output_type: str
    public: bool
    success_status: int
    rate_class: str
    idempotency: str = ""  # method_policy.idempotency

    @property
    def grpc_path(self) -> str:
        return f"/{self.service}/{self.method}"

    @property
    def path_params(self) -> list[str]:
        return [p.split("=")[0] for p in re.findall(r"{([^}]+)}", self.path)]

    def path_regex(self) -> str:
        """An RE2 pattern for the template: each {param} matches one path segment."""
        return "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(self.path)) + "$"


@dataclass(frozen=True)
class MethodInfo:
    service: str
    method: str
    public: bool
    internal: bool
    # The service that serves it (service_policy.owner, else the package's own service).
    owner: str


class Contract:
    """The routes and method policies in one descriptor set."""

    def __init__(self, fds_bytes: bytes):
        self.fds = descriptor_pb2.FileDescriptorSet.FromString(fds_bytes)
        self.pool = descriptor_pool.DescriptorPool()
        for f in self.fds.file:
            self.pool.Add(f)
        options_cls = message_factory.GetMessageClass(
            self.pool.FindMessageTypeByName("google.protobuf.MethodOptions")
        )
        http_ext = self.pool.FindExtensionByName("google.api.http")
        policy_ext = self.pool.FindExtensionByName("framelane.api.v1.method_policy")
        service_options_cls = message_factory.GetMessageClass(
            self.pool.FindMessageTypeByName("google.protobuf.ServiceOptions")
        )
        owner_ext = self.pool.FindExtensionByName("framelane.api.v1.service_policy")
        self.routes: list[Route] = []
        self.methods: dict[str, MethodInfo] = {}
        for f in self.fds.file:
            for s in f.service:
                service = f"{f.package}.{s.name}"
                owner = service_options_cls.FromString(s.options.SerializeToString()).Extensions[owner_ext].owner
                owner = owner or f.package.split(".")[1]
                for m in s.method:
                    opts = options_cls.FromString(m.options.SerializeToString())
                    policy = opts.Extensions[policy_ext]
                    info = MethodInfo(service, m.name, policy.public, policy.internal, owner)
                    self.methods[f"/{service}/{m.name}"] = info
                    if not opts.HasExtension(http_ext):
                        continue
                    rule = opts.Extensions[http_ext]
                    for r in [rule, *rule.additional_bindings]:
                        verb = r.WhichOneof("pattern")
                        if verb not in HTTP_VERBS:
                            continue
                        self.routes.append(
                            Route(
                                service=service,
                                method=m.name,
                                verb=verb,
                                path=getattr(r, verb),
                                body=r.body,
                                input_type=m.input_type.lstrip("."),
                                output_type=m.output_type.lstrip("."),
                                public=policy.public,
                                success_status=policy.success_status or 200,
                                rate_class=policy.rate_class or "default",
                                idempotency=policy.idempotency,
                            )
                        )

    def services(self) -> list[str]:
        """Services that have at least one REST route (the ones Envoy transcodes)."""
        return sorted({r.service for r in self.routes})

    def field_schema(self, field: descriptor_pb2.FieldDescriptorProto):
        """The framelane.api.v1.field_schema option of a field, or None."""
        cls = message_factory.GetMessageClass(self.pool.FindMessageTypeByName("google.protobuf.FieldOptions"))
        ext = self.pool.FindExtensionByName("framelane.api.v1.field_schema")
        opts = cls.FromString(field.options.SerializeToString())
        return opts.Extensions[ext] if opts.HasExtension(ext) else None

    def comments(self) -> dict[str, str]:
        """Leading comments by fully qualified element name (messages, fields, methods)."""
        out: dict[str, str] = {}
        for f in self.fds.file:
            index = {}
            for loc in f.source_code_info.location:
                if loc.leading_comments:
                    index[tuple(loc.path)] = " ".join(loc.leading_comments.split())
            for i, msg in enumerate(f.message_type):
                _collect_message_comments(f.package, msg, (4, i), index, out)
            for i, s in enumerate(f.service):
                for j, m in enumerate(s.method):
                    c = index.get((6, i, 2, j))
                    if c:
                        out[f"{f.package}.{s.name}.{m.name}"] = c
        return out


def _collect_message_comments(prefix, msg, path, index, out):
    name = f"{prefix}.{msg.name}"
    if path in index:
        out[name] = index[path]
    for k, field in enumerate(msg.field):
        c = index.get((*path, 2, k))
        if c:
            out[f"{name}.{field.name}"] = c
    for k, nested in enumerate(msg.nested_type):
        _collect_message_comments(name, nested, (*path, 3, k), index, out)


GEN_DIR = Path(__file__).resolve().parents[2] / "gen"


@cache
def idempotency_catalog(contract: Contract) -> dict:
    """The Idempotency-Key part of /v1/capabilities: how each POST of both faces honours it."""
    how = {"": "stored response replayed", "transaction": "in the creating transaction", "none": "not applied"}
    routes = {f"POST {r.path}": how[r.idempotency or ("none" if r.public else "")]
              for r in contract.routes if r.verb == "post"}
    return {"supported": True, "header": "Idempotency-Key", "ttl_hours": 24,
            "scope": "workspace, method and key", "replay_status": 200,
            "conflicts": {"different_body": "409 idempotency_conflict", "in_flight": "409 conflict"},
            "routes": routes,
            "not_applied_because": "public routes have no workspace to scope a key to; POST /v1/api-keys "
                                   "returns a secret shown once, which is never stored"}


def load_contract(path: Path = GEN_DIR / "descriptors.pb") -> Contract:
    """The contract of the generated descriptor set (cached: it never changes in a process)."""
    return Contract(path.read_bytes())
