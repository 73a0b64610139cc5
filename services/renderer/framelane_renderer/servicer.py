"""Thin gRPC handlers of RenderService."""

from datetime import UTC, datetime

from google.protobuf import json_format, struct_pb2

from framelane.api.v1 import job_pb2
from framelane.renderer.v1 import render_pb2, render_pb2_grpc
from framelane_core.context import Principal, current_principal
from framelane_core.grpcserver import set_http_status
from framelane_core.idempotency import idempotency_key
from framelane_core.protoconv import nullable, timestamp
from framelane_renderer.service import Renders, estimated_duration


def _structs(items: list[dict]) -> list[struct_pb2.Struct]:
    return [json_format.ParseDict(i, struct_pb2.Struct()) for i in items]


def _workspace(request) -> Principal:
    """The workspace an internal caller acts for."""
    return Principal(workspace_id=request.workspace_id, key_id="", plan="")


class RenderServicer(render_pb2_grpc.RenderServiceServicer):
    def __init__(self, renders: Renders):
        self.renders = renders

    async def CreateRender(self, request, context):
        spec = json_format.MessageToDict(request.spec)
        row, replayed = await self.renders.create(current_principal(), spec, idempotency_key(context))
        await set_http_status(context, 200 if replayed else 202)
        return self.renders.job(row)

    async def ListRenders(self, request, context):
        rows, cursor = await self.renders.list_page(current_principal(), request.status, request.limit, request.cursor)
        return job_pb2.ListJobsResponse(
            data=[self.renders.job(r) for r in rows], next_cursor=nullable(cursor), has_more=cursor is not None)

    async def GetRender(self, request, context):
        return self.renders.job(await self.renders.get(current_principal(), request.id, request.wait))

    async def CancelRender(self, request, context):
        return self.renders.job(await self.renders.cancel(current_principal(), request.id))

    async def GetRenderDownload(self, request, context):
        url, expires = await self.renders.download(current_principal(), request.id)
        await set_http_status(context, 302, location=url)
        return job_pb2.Download(url=url, expires_at=timestamp(datetime.fromtimestamp(expires, UTC)))

    async def SubmitChildRender(self, request, context):
        spec = json_format.MessageToDict(request.spec)
        return self.renders.job(await self.renders.submit_child(request.workspace_id, request.parent_id, spec))

    async def GetChildRender(self, request, context):
        return self.renders.job(await self.renders.get(_workspace(request), request.render_id, request.wait))

    async def CancelChildRender(self, request, context):
        return self.renders.job(await self.renders.cancel(_workspace(request), request.render_id))

    async def Preview(self, request, context):
        principal = current_principal()
        spec = json_format.MessageToDict(request.render_request)
        result, problems = await self.renders.validate_only(spec)
        frame = None
        if request.HasField("at") and not request.dry_run:
            frame = await self.renders.preview_frame(principal, spec, request.at.value)
        valid = result.ok and not problems
        duration = estimated_duration(result.normalized) if valid else 0.0
        return render_pb2.PreviewResponse(
            valid=valid,
            violations=_structs(problems or [v.as_dict() for v in result.errors]),
            warnings=_structs([w.as_dict() for w in result.warnings]),
            duration=duration, render_minutes=duration / 60,
            preview=json_format.ParseDict(frame, struct_pb2.Value()),
        )
