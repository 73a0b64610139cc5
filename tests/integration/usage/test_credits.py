"""The credits ledger: reserve, settle, refund, each a ledger row; balances derived; 402 when short."""

import asyncio

import grpc
import pytest

from framelane.usage.v1 import usage_pb2, usage_pb2_grpc
from framelane_core.errors import from_rpc_error
from framelane_usage.credits import Credits, InsufficientCredits
from tests.integration.usage.conftest import auth


async def test_reserve_settle_refund_are_ledger_rows_and_racing_reservations_never_overspend(usage_app):
    app, channel = usage_app
    ws, _, key = await app.accounts.create_workspace("Beats", plan="pro")
    credits = Credits(app.res.pool)
    await credits.grant(ws["id"], "purchase_1", 1080, "pack")
    await credits.grant(ws["id"], "purchase_1", 1080, "pack")  # the same grant again: no second row
    assert (await credits.balance(ws["id"]))["balance"] == 1080

    # 1080 credits, 225 per job: of ten racing reservations exactly four fit.
    results = await asyncio.gather(*(credits.reserve(ws["id"], f"task_{i}", 225) for i in range(10)),
                                   return_exceptions=True)
    ok = [f"task_{i}" for i, r in enumerate(results) if not isinstance(r, Exception)]
    assert len(ok) == 4
    assert all(isinstance(r, InsufficientCredits) for r in results if isinstance(r, Exception))
    assert (await credits.reserve(ws["id"], ok[0], 225))["balance"] == 180  # idempotent

    settled = await credits.settle(ok[0], 200)
    assert (settled["job_credits_settled"], settled["balance"]) == (200, 205)
    refunded = await credits.refund(ok[1])
    assert (refunded["job_credits_refunded"], refunded["balance"]) == (225, 430)
    assert (await credits.refund(ok[1]))["balance"] == 430  # once per job

    stub = usage_pb2_grpc.UsageServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.SettleCredits(usage_pb2.SettleCreditsRequest(job_id=ok[1], credits=10))
    assert from_rpc_error(err.value).code == "conflict"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ReserveCredits(usage_pb2.ReserveCreditsRequest(workspace_id=ws["id"], job_id="task_big",
                                                                  credits=10_000))
    short = from_rpc_error(err.value)
    assert short.code == "insufficient_credits" and short.details == {"credits_required": 10000,
                                                                      "credit_balance": 430}
    mine = await stub.GetCredits(usage_pb2.GetCreditsRequest(), metadata=auth(key))
    assert (mine.balance, mine.credits_reserved, mine.credits_settled, mine.credits_refunded) == (430, 450, 200, 225)
    async with app.res.pool.connection() as conn:
        rows = await (await conn.execute("SELECT kind, count(*) AS n FROM credit_ledger GROUP BY kind")).fetchall()
    assert {r["kind"]: r["n"] for r in rows} == {"grant": 1, "reserve": 4, "settle": 1, "refund": 1}
