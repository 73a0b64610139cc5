"""Thin gRPC handlers of AccountService and UsageService: proto in, domain call, proto out."""

from google.protobuf import empty_pb2

from framelane.usage.v1 import account_pb2, account_pb2_grpc, usage_pb2, usage_pb2_grpc
from framelane_core.context import current_principal
from framelane_core.grpcserver import set_http_status
from framelane_core.protoconv import nullable, timestamp
from framelane_usage.metering import Meters
from framelane_usage.service import Accounts


def _key(row: dict, plaintext: str | None = None) -> account_pb2.ApiKey:
    return account_pb2.ApiKey(
        id=row["id"], name=row["name"], key_prefix=row["key_prefix"], created_at=timestamp(row["created_at"]),
        last_used_at=nullable(row["last_used_at"]), revoked_at=nullable(row["revoked_at"]), key=plaintext,
    )


def _workspace(row: dict) -> account_pb2.Workspace:
    return account_pb2.Workspace(id=row["id"], name=row["name"], plan=row["plan"], created_at=timestamp(row["created_at"]))


class AccountServicer(account_pb2_grpc.AccountServiceServicer):
    def __init__(self, accounts: Accounts):
        self.accounts = accounts

    async def CreateApiKey(self, request, context):
        row, key = await self.accounts.create_key(current_principal(), request.name)
        await set_http_status(context, 201)
        return _key(row, key)

    async def ListApiKeys(self, request, context):
        rows, next_cursor = await self.accounts.list_keys(current_principal(), request.limit, request.cursor)
        return account_pb2.ListApiKeysResponse(
            data=[_key(r) for r in rows], next_cursor=nullable(next_cursor), has_more=next_cursor is not None
        )

    async def RevokeApiKey(self, request, context):
        await self.accounts.revoke_key(current_principal(), request.key_id)
        await set_http_status(context, 204)
        return empty_pb2.Empty()

    async def GetWorkspace(self, request, context):
        return _workspace(await self.accounts.get_workspace(current_principal()))

    async def UpdateWorkspace(self, request, context):
        return _workspace(await self.accounts.rename_workspace(current_principal(), request.name))

    async def DeleteWorkspace(self, request, context):
        await self.accounts.delete_workspace(current_principal())
        await set_http_status(context, 204)
        return empty_pb2.Empty()

    async def Authenticate(self, request, context):
        p = await self.accounts.authenticate(request.api_key)
        return account_pb2.Principal(workspace_id=p.workspace_id, key_id=p.key_id, plan=p.plan)


class UsageServicer(usage_pb2_grpc.UsageServiceServicer):
    def __init__(self, meters: Meters):
        self.meters = meters

    async def GetWorkspaceUsage(self, request, context):
        u = await self.meters.usage(current_principal(), request.period)
        return usage_pb2.WorkspaceUsage(
            period_start=timestamp(u["period_start"]), period_end=timestamp(u["period_end"]),
            render_minutes=u["render_minutes"], task_count=u["task_count"], egress_bytes=u["egress_bytes"],
            plan=u["plan"], render_minutes_limit=nullable(u["render_minutes_limit"]),
            render_minutes_reserved=u["render_minutes_reserved"],
        )

    async def AdmitRender(self, request, context):
        remaining = await self.meters.admit_render(request.workspace_id, request.job_id, request.render_minutes)
        return usage_pb2.Admission(render_minutes_remaining=nullable(remaining))
