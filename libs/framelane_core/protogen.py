"""Generates Python code and the descriptor set from protos/ (`make protos`).

Everything generated lands under gen/: Python modules in gen/python, the descriptor set Envoy's
transcoder loads in gen/descriptors.pb, and the OpenAPI document in gen/openapi.json.
`python -m framelane_core.protogen --check` regenerates into a temporary folder and fails when
the committed output differs (stale generated code)."""

import argparse
import filecmp
import importlib.resources
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ROOT / "protos"
GEN = ROOT / "gen"


def _include_dirs() -> list[str]:
    """Our protos, grpc_tools' well-known types and googleapis-common-protos' google/api."""
    grpc_protos = importlib.resources.files("grpc_tools") / "_proto"
    import google.api  # noqa: PLC0415 - located at run time, from googleapis-common-protos

    googleapis = Path(google.api.__path__[0]).parents[1]
    return [str(PROTOS), str(grpc_protos), str(googleapis)]


def proto_files(root: Path = PROTOS) -> list[str]:
    """Every .proto under root, relative to it, sorted for reproducible output."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.proto"))


def generate(out: Path, protos_root: Path = PROTOS, extra_protos: list[str] | None = None) -> None:
    """Runs protoc into out/python and out/descriptors.pb, then writes out/openapi.json."""
    python_out = out / "python"
    python_out.mkdir(parents=True, exist_ok=True)
    files = proto_files(protos_root) + (extra_protos or [])
    includes = [f"-I{d}" for d in [str(protos_root), *_include_dirs()[1:]]]
    args = [
        "protoc",
        *includes,
        f"--python_out={python_out}",
        f"--pyi_out={python_out}",
        f"--grpc_python_out={python_out}",
        f"--descriptor_set_out={out / 'descriptors.pb'}",
        "--include_imports",
        "--include_source_info",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    from framelane_core.openapi import write_openapi  # noqa: PLC0415 - needs no generated code

    write_openapi(out / "descriptors.pb", out / "openapi.json")


def _same_tree(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two trees (missing, extra or changed files)."""
    diffs: list[str] = []
    cmp = filecmp.dircmp(a, b)
    stack = [(cmp, Path())]
    while stack:
        c, rel = stack.pop()
        diffs += [str(rel / n) for n in c.left_only + c.right_only]
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        diffs += [str(rel / n) for n in mismatch + errors]
        stack += [(sub, rel / name) for name, sub in c.subdirs.items() if name != "__pycache__"]
    return sorted(d for d in diffs if "__pycache__" not in d)


def check() -> list[str]:
    """Regenerates into a temporary folder and lists what differs from gen/."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        return _same_tree(GEN, Path(tmp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when gen/ is stale")
    ns = parser.parse_args()
    if ns.check:
        stale = check()
        if stale:
            print("generated code is stale; run `make protos`:", *stale, sep="\n  ")
            sys.exit(1)
        return
    shutil.rmtree(GEN, ignore_errors=True)
    generate(GEN)


if __name__ == "__main__":
    main()
