"""Thin gRPC handlers of AccountService and UsageService: proto in, domain call, proto out."""

from google.protobuf import empty_pb2, json_format

from framelane.beatapi.v1 import beatapi_pb2, beatapi_pb2_grpc
from framelane.usage.v1 import account_pb2, account_pb2_grpc, usage_pb2, usage_pb2_grpc
from framelane_core.context import current_principal
from framelane_core.grpcserver import set_http_status
from framelane_core.protoconv import nullable, timestamp
from framelane_usage.billing import Billing
from framelane_usage.credits import Credits
from framelane_usage.limits import RateWindows
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

    async def Signup(self, request, context):
        ws, key_row, key = await self.accounts.signup(request.workspace_name, request.email)
        await set_http_status(context, 201)
        return account_pb2.SignupResponse(workspace=_workspace(ws), api_key=_key(key_row, key),
                                          email_verification="pending")

    async def VerifySignup(self, request, context):
        ws = await self.accounts.verify_signup(request.email, request.otp_code)
        return account_pb2.VerifySignupResponse(workspace=_workspace(ws), email_verification="verified")

    async def Authenticate(self, request, context):
        p = await self.accounts.authenticate(request.api_key)
        return account_pb2.Principal(workspace_id=p.workspace_id, key_id=p.key_id, plan=p.plan)


class UsageServicer(usage_pb2_grpc.UsageServiceServicer):
    def __init__(self, meters: Meters, windows: RateWindows, billing: Billing, credits: Credits):
        self.meters, self.windows, self.billing, self.credits = meters, windows, billing, credits

    async def GetWorkspaceUsage(self, request, context):
        period = request.period if request.HasField("period") else None
        u = await self.meters.usage(current_principal(), period)
        return usage_pb2.WorkspaceUsage(
            period_start=timestamp(u["period_start"]), period_end=timestamp(u["period_end"]),
            render_minutes=u["render_minutes"], task_count=u["task_count"], egress_bytes=u["egress_bytes"],
            plan=u["plan"], render_minutes_limit=nullable(u["render_minutes_limit"]),
            render_minutes_reserved=u["render_minutes_reserved"], concurrency_limit=u["concurrency_limit"],
            active_jobs=u["active_jobs"],
        )

    async def AdmitRender(self, request, context):
        return _admission(await self.meters.admit_job(request.workspace_id, request.job_id, "render",
                                                      request.render_minutes))

    async def AdmitJob(self, request, context):
        return _admission(await self.meters.admit_job(request.workspace_id, request.job_id, request.kind,
                                                      request.render_minutes, request.credits,
                                                      request.workflow or None))

    async def TakeRateTokens(self, request, context):
        grant = await self.windows.take(request.key_id, request.plan, request.rate_class or "default",
                                        request.window_start)
        return usage_pb2.RateGrant(granted=grant.granted, limit=grant.limit, window_seconds=grant.window_seconds,
                                   window_taken=grant.window_taken)

    async def GetCredits(self, request, context):
        return usage_pb2.CreditBalance(**await self.credits.balance(current_principal().workspace_id))

    async def ReserveCredits(self, request, context):
        return usage_pb2.CreditBalance(**await self.credits.reserve(request.workspace_id, request.job_id,
                                                                    request.credits))

    async def SettleCredits(self, request, context):
        return usage_pb2.CreditBalance(**await self.credits.settle(request.job_id, request.credits))

    async def RefundCredits(self, request, context):
        return usage_pb2.CreditBalance(**await self.credits.refund(request.job_id))

    async def GrantCredits(self, request, context):
        return usage_pb2.CreditBalance(**await self.credits.grant(request.workspace_id, request.grant_id,
                                                                  request.credits, request.reason))

    async def CreateBillingPortalSession(self, request, context):
        return usage_pb2.BillingPortalSession(url=self.billing.portal_url(current_principal()))

    async def PreviewInvoice(self, request, context):
        inv = await self.billing.preview(current_principal())
        return usage_pb2.InvoicePreview(
            plan=inv["plan"], period_start=timestamp(inv["period_start"]), period_end=timestamp(inv["period_end"]),
            currency=inv["currency"], total_usd=inv["total_usd"],
            lines=[usage_pb2.InvoiceLine(**line) for line in inv["lines"]],
        )


class BeatUsageServicer(beatapi_pb2_grpc.UsageServiceServicer):
    """GET /beatapi/v1/usage."""

    def __init__(self, meters: Meters):
        self.meters = meters

    async def GetUsage(self, request, context):
        usage = await self.meters.beatapi_usage(current_principal().workspace_id)
        return beatapi_pb2.UsageResponse(data=json_format.ParseDict(usage, beatapi_pb2.Usage()))


def _admission(a: dict) -> usage_pb2.Admission:
    return usage_pb2.Admission(render_minutes_remaining=nullable(a["render_minutes_remaining"]),
                               concurrency_limit=a["concurrency_limit"], active_jobs=a["active_jobs"],
                               credits_reserved=a["credits_reserved"], credit_balance=a["credit_balance"])
