"""The usage service in-process on a real gRPC port: auth interceptor, errors, keys, health."""

import asyncio

import grpc
import psycopg
import psycopg_pool
import pytest
from google.protobuf import empty_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from framelane.usage.v1 import account_pb2, account_pb2_grpc, usage_pb2, usage_pb2_grpc
from framelane_core.config import Settings
from framelane_core.devmesh import free_port
from framelane_usage.app import UsageApp


@pytest.fixture
async def usage(database_url, nats_url):
    settings = Settings(service="usage", database_url=database_url, nats_url=nats_url, grpc_port=free_port(),
                        metrics_port=0, auth_cache_seconds=0.2, drain_seconds=2)
    app = UsageApp(settings)
    port = await app.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    ws, _, key = await app.accounts.create_workspace("Acme", plan="pro")
    yield app, channel, ws, key
    await channel.close()
    await app.stop()


def _auth(key):
    return (("authorization", f"Bearer {key}"), ("x-request-id", "req-test-1"))


def _reason(err: grpc.aio.AioRpcError) -> str:
    for k, v in err.trailing_metadata():
        if k == "grpc-status-details-bin":
            info = error_details_pb2.ErrorInfo()
            status_pb2.Status.FromString(v).details[0].Unpack(info)
            return info.reason
    return ""


async def test_private_methods_need_a_valid_key(usage):
    _, channel, ws, key = usage
    stub = account_pb2_grpc.AccountServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetWorkspace(account_pb2.GetWorkspaceRequest())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED and _reason(err.value) == "unauthorized"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetWorkspace(account_pb2.GetWorkspaceRequest(), metadata=_auth("fl_live_nope"))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    got = await stub.GetWorkspace(account_pb2.GetWorkspaceRequest(), metadata=_auth(key))
    assert (got.id, got.name, got.plan) == (ws["id"], "Acme", "pro")


async def test_keys_are_listed_in_pages_and_revocation_takes_effect_within_a_second(usage):
    app, channel, _, key = usage
    stub = account_pb2_grpc.AccountServiceStub(channel)
    created = [await stub.CreateApiKey(account_pb2.CreateApiKeyRequest(name=f"k{i}"), metadata=_auth(key))
               for i in range(3)]
    assert all(c.key.startswith("fl_live_") and c.key_prefix == c.key[:12] for c in created)
    page1 = await stub.ListApiKeys(account_pb2.ListApiKeysRequest(limit=2), metadata=_auth(key))
    assert [k.name for k in page1.data] == ["k2", "k1"] and page1.has_more
    assert all(not k.HasField("key") for k in page1.data)
    page2 = await stub.ListApiKeys(
        account_pb2.ListApiKeysRequest(limit=2, cursor=page1.next_cursor.string_value), metadata=_auth(key))
    assert [k.name for k in page2.data] == ["k0", "Default"] and not page2.has_more

    victim = created[0]
    await stub.GetWorkspace(account_pb2.GetWorkspaceRequest(), metadata=_auth(victim.key))
    await stub.RevokeApiKey(account_pb2.RevokeApiKeyRequest(key_id=victim.id), metadata=_auth(key))
    await asyncio.sleep(1.0)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetWorkspace(account_pb2.GetWorkspaceRequest(), metadata=_auth(victim.key))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED

    await app.accounts.flush_last_used()
    listed = await stub.ListApiKeys(account_pb2.ListApiKeysRequest(limit=100), metadata=_auth(key))
    by_id = {k.id: k for k in listed.data}
    assert by_id[victim.id].revoked_at.string_value.endswith("Z")
    assert by_id[victim.id].last_used_at.string_value.endswith("Z")


async def test_validation_errors_list_each_violation(usage):
    _, channel, _, key = usage
    stub = account_pb2_grpc.AccountServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.UpdateWorkspace(account_pb2.UpdateWorkspaceRequest(name="x"), metadata=_auth(key))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and _reason(err.value) == "invalid_request"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RevokeApiKey(account_pb2.RevokeApiKeyRequest(key_id="key_other"), metadata=_auth(key))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_unexpected_exceptions_become_internal_without_a_traceback(usage, monkeypatch):
    app, channel, _, key = usage

    async def boom(principal):
        raise ZeroDivisionError("secret detail")

    monkeypatch.setattr(app.accounts, "get_workspace", boom)
    stub = account_pb2_grpc.AccountServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetWorkspace(account_pb2.GetWorkspaceRequest(), metadata=_auth(key))
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in err.value.details() and _reason(err.value) == "internal_error"


@pytest.mark.parametrize("failure", [psycopg.errors.AdminShutdown("terminating connection"),
                                     psycopg_pool.PoolTimeout("couldn't get a connection after 30 s")])
async def test_database_outages_are_unavailable_not_internal(usage, monkeypatch, failure):
    app, channel, _, key = usage

    async def down(principal):
        raise failure

    monkeypatch.setattr(app.accounts, "get_workspace", down)
    stub = account_pb2_grpc.AccountServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetWorkspace(account_pb2.GetWorkspaceRequest(), metadata=_auth(key))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE and _reason(err.value) == "unavailable"


async def test_deleted_workspace_keys_stop_working(usage):
    _, channel, _, key = usage
    stub = account_pb2_grpc.AccountServiceStub(channel)
    assert await stub.DeleteWorkspace(account_pb2.DeleteWorkspaceRequest(), metadata=_auth(key)) == empty_pb2.Empty()
    await asyncio.sleep(0.3)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await usage_pb2_grpc.UsageServiceStub(channel).GetWorkspaceUsage(
            usage_pb2.GetWorkspaceUsageRequest(), metadata=_auth(key))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_health_and_reflection(usage):
    _, channel, _, _ = usage
    health = health_pb2_grpc.HealthStub(channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service="framelane.usage.v1.AccountService"))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    async for response in responses:
        names = {s.name for s in response.list_services_response.service}
        assert {"framelane.usage.v1.AccountService", "framelane.usage.v1.UsageService"} <= names
        break
