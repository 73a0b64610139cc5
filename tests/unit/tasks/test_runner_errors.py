"""A workflow following its render survives the renderer restarting (found by `make chaos`: a
killed renderer failed every workflow task following a render with `unavailable`). Transient
answers are waited out while following and otherwise left to redelivery; the renderer's verdicts
become the task's errors."""

import asyncio

import grpc
import pytest
from google.protobuf import json_format

from framelane.api.v1 import job_pb2
from framelane_core.errors import FramelaneError
from framelane_core.storage import LocalStorage
from framelane_tasks import runner
from framelane_tasks.runner import WorkflowRunner


def answering(code: grpc.StatusCode):
    async def method(request, timeout):
        raise grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details="Socket closed")
    return method


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                                  grpc.StatusCode.INTERNAL])
async def test_a_restarting_renderer_is_not_the_tasks_failure(code):
    with pytest.raises(grpc.aio.AioRpcError):
        await WorkflowRunner._call(answering(code), None)


async def test_the_renderers_verdict_is_the_tasks_error():
    with pytest.raises(FramelaneError):
        await WorkflowRunner._call(answering(grpc.StatusCode.NOT_FOUND), None)


async def test_following_waits_out_a_renderer_restart(tmp_path, monkeypatch):
    storage = LocalStorage(tmp_path, "secret", "http://127.0.0.1:8080")
    done = job_pb2.Job(id="render_1", status="completed")
    json_format.ParseDict({"url": storage.signed_url("renders/render_1/output.mp4", workspace="ws_1")[0],
                           "width": 64, "height": 64, "duration": 2, "size_bytes": 9}, done.output)
    answers = [answering(grpc.StatusCode.UNAVAILABLE), answering(grpc.StatusCode.INTERNAL)]

    class Renderer:
        async def GetChildRender(self, request, timeout):
            if answers:
                return await answers.pop(0)(request, timeout)
            return done

    follower = WorkflowRunner.__new__(WorkflowRunner)
    follower.storage, follower.renderer = storage, Renderer()
    monkeypatch.setattr(runner, "FOLLOW_RETRY_SECONDS", 0)
    output = await follower.follow({"workspace_id": "ws_1"}, "render_1", None, asyncio.Event())
    assert output["key"] == "renders/render_1/output.mp4" and output["render_id"] == "render_1"
