import pytest

from framelane_core.auth import CachedAuthenticator, bearer_token
from framelane_core.context import Principal
from framelane_core.errors import Unauthorized


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer"])
def test_bearer_token_refuses_malformed_headers(header):
    with pytest.raises(Unauthorized):
        bearer_token(header)


def test_bearer_token_accepts_any_case_scheme():
    assert bearer_token("bearer fl_live_x") == "fl_live_x"


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


async def test_cache_serves_within_ttl_and_refreshes_after():
    calls = []
    revoked = set()

    async def resolve(key):
        calls.append(key)
        if key in revoked:
            raise Unauthorized("Invalid API key.")
        return Principal("ws_1", "key_1", "pro")

    clock = FakeClock()
    auth = CachedAuthenticator(resolve, ttl=0.9, service="t", clock=clock)
    assert (await auth.authenticate("Bearer fl_a")).workspace_id == "ws_1"
    await auth.authenticate("Bearer fl_a")
    assert calls == ["fl_a"]
    revoked.add("fl_a")
    clock.now = 1.0
    with pytest.raises(Unauthorized):
        await auth.authenticate("Bearer fl_a")
    with pytest.raises(Unauthorized):  # the refusal is cached too
        await auth.authenticate("Bearer fl_a")
    assert calls == ["fl_a", "fl_a"]
