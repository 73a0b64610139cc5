"""The client view of a job row (renders and tasks share it), with signed output URLs."""

from google.protobuf import json_format

from framelane.api.v1 import job_pb2
from framelane_core.protoconv import nullable, timestamp
from framelane_core.storage import LocalStorage

TERMINAL = frozenset({"completed", "failed", "cancelled"})
STATUSES = ("ingesting", "queued", "processing", "completed", "failed", "cancelled")
# Longest ?wait= a GET of a job honours (larger values are clamped).
MAX_WAIT_SECONDS = 25.0


def _output(output: dict | None, storage: LocalStorage, workspace: str):
    """Stored output (storage keys) → client output (fresh signed URLs)."""
    if not output:
        return None
    view = {k: v for k, v in output.items() if not k.endswith("key")}
    view["url"] = storage.signed_url(output["key"], workspace=workspace)[0]
    view["poster_url"] = None
    for k, v in output.items():  # every other <name>_key (poster, a transcript's srt/vtt) → <name>_url
        if k.endswith("_key"):
            view[f"{k[:-4]}_url"] = storage.signed_url(v, workspace=workspace)[0] if v else None
    return view


def job_message(row: dict, kind: str, storage: LocalStorage, task_type: str | None = None) -> job_pb2.Job:
    """The Job message of a renders/tasks row."""
    job = job_pb2.Job(
        id=row["id"], kind=kind, workspace_id=row["workspace_id"], status=row["status"],
        created_at=timestamp(row["created_at"]), updated_at=timestamp(row["updated_at"]),
        task_type=nullable(task_type), progress_percent=float(row["progress_percent"]),
        progress_stage=nullable(row["progress_stage"]), completed_at=nullable(row["completed_at"]),
    )
    json_format.ParseDict(_output(row["output"], storage, row["workspace_id"]), job.output)
    json_format.ParseDict(row["error"], job.error)
    json_format.ParseDict(row["metadata"] or {}, job.metadata)
    for warning in row.get("warnings") or []:
        json_format.ParseDict(warning, job.warnings.add())
    return job
