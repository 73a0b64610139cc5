"""Signup through a real SMTP server: the mailed code activates the key; wrong codes lock out."""

import asyncio

import grpc
import pytest

from framelane.usage.v1 import account_pb2, account_pb2_grpc
from framelane_core.errors import from_rpc_error
from tests.integration.usage.conftest import auth, reason


async def _until_ok(call, timeout: float = 3.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_signup_mails_a_code_that_activates_the_key(usage_app, mailbox):
    app, channel = usage_app
    stub = account_pb2_grpc.AccountServiceStub(channel)
    got = await stub.Signup(account_pb2.SignupRequest(workspace_name="Acme Films", email="Ada@Example.com"))
    assert got.email_verification == "pending" and got.workspace.plan == "free"
    key = got.api_key.key
    assert key.startswith("fl_live_")

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetWorkspace(account_pb2.GetWorkspaceRequest(), metadata=auth(key))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED and reason(err.value) == "email_not_verified"

    code = await asyncio.to_thread(mailbox.code_for, "ada@example.com")
    async with app.res.pool.connection() as conn:
        stored = await (await conn.execute("SELECT * FROM email_verifications")).fetchone()
    assert len(stored["code_hash"]) == 32 and code.encode() not in bytes(stored["code_hash"])  # hashed, not kept
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.VerifySignup(account_pb2.VerifySignupRequest(email="ada@example.com", otp_code=wrong))
    assert reason(err.value) == "invalid_otp" and from_rpc_error(err.value).details == {"attempts_left": 4}

    done = await stub.VerifySignup(account_pb2.VerifySignupRequest(email=" ADA@example.com", otp_code=code))
    assert done.email_verification == "verified" and done.workspace.id == got.workspace.id
    ws = await _until_ok(lambda: stub.GetWorkspace(account_pb2.GetWorkspaceRequest(), metadata=auth(key)))
    assert ws.name == "Acme Films"

    # The email now belongs to a verified workspace.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Signup(account_pb2.SignupRequest(workspace_name="Again", email="ada@example.com"))
    assert reason(err.value) == "conflict"


async def test_five_wrong_codes_lock_the_email_and_expired_codes_are_gone(usage_app, mailbox):
    app, channel = usage_app
    stub = account_pb2_grpc.AccountServiceStub(channel)
    await stub.Signup(account_pb2.SignupRequest(workspace_name="Locked", email="eve@example.com"))
    code = await asyncio.to_thread(mailbox.code_for, "eve@example.com")
    wrong = "000000" if code != "000000" else "111111"
    reasons = []
    for _ in range(5):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.VerifySignup(account_pb2.VerifySignupRequest(email="eve@example.com", otp_code=wrong))
        reasons.append(reason(err.value))
    assert reasons == ["invalid_otp"] * 5
    # Locked: even the right code is refused for 15 minutes, with Retry-After.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.VerifySignup(account_pb2.VerifySignupRequest(email="eve@example.com", otp_code=code))
    locked = from_rpc_error(err.value)
    assert locked.code == "rate_limited" and 890 <= locked.retry_after_seconds <= 900
    # A new signup of the same email does not lift the lock.
    async with app.res.pool.connection() as conn:
        await conn.execute("UPDATE email_verifications SET sent_at = now() - interval '1 minute'")
    await stub.Signup(account_pb2.SignupRequest(workspace_name="Locked 2", email="eve@example.com"))
    code2 = await asyncio.to_thread(mailbox.code_for, "eve@example.com", after=1)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.VerifySignup(account_pb2.VerifySignupRequest(email="eve@example.com", otp_code=code2))
    assert reason(err.value) == "rate_limited"

    # Once the lock is over, an expired code answers otp_expired (410 on REST).
    async with app.res.pool.connection() as conn:
        await conn.execute("UPDATE email_verifications SET locked_until = now() - interval '1 second',"
                           " expires_at = now() - interval '1 second'")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.VerifySignup(account_pb2.VerifySignupRequest(email="eve@example.com", otp_code=code2))
    assert reason(err.value) == "otp_expired"


async def test_signup_validates_and_throttles_resends(usage_app, mailbox):
    _, channel = usage_app
    stub = account_pb2_grpc.AccountServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Signup(account_pb2.SignupRequest(workspace_name="Acme", email="not-an-email"))
    assert reason(err.value) == "invalid_request"
    await stub.Signup(account_pb2.SignupRequest(workspace_name="Acme", email="bob@example.com"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Signup(account_pb2.SignupRequest(workspace_name="Acme", email="bob@example.com"))
    assert reason(err.value) == "rate_limited" and from_rpc_error(err.value).retry_after_seconds <= 30
