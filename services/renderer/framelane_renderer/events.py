"""The renderer's `render.*` lifecycle events, written through the outbox; the payload is the job."""

from framelane.api.v1 import job_pb2
from framelane_core.bus import make_event, write_outbox

SERVICE = "renderer"
QUEUED_SUBJECT = "framelane.renderer.v1.render.queued"


async def emit(conn, event_type: str, row: dict, job: job_pb2.Job) -> None:
    """Writes `render.<event_type>` for the render in `row`, whose client view is `job`."""
    payload = job_pb2.JobEvent(job=job, webhook_url=row["webhook_url"] or "",
                               output_duration=float((row["output"] or {}).get("duration") or 0),
                               parent_id=row.get("parent_id") or "")
    await write_outbox(conn, SERVICE, make_event(f"render.{event_type}", row["workspace_id"], payload))
