"""Hold a screen's push stream on the real app: it ends soon after its account is deactivated."""

from __future__ import annotations

import time

import pytest

from cockpit.access.policy import Role
from cockpit.web import push as push_module
from tests.signed_in import PASSWORD, tiny_cockpit

pytestmark = pytest.mark.integration


def test_a_stream_ends_once_its_account_is_deactivated_not_after_five_minutes(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(push_module, "RECHECK_S", 0.3)
    monkeypatch.setattr(push_module, "KEEPALIVE_S", 0.1)
    app, runtime, _engine = tiny_cockpit(tmp_path)
    try:
        runtime.accounts.add("stream-dispatcher", Role.DISPATCHER, password=PASSWORD)
        client = app.server.test_client()
        signed = client.post("/login", data={"username": "stream-dispatcher", "password": PASSWORD})
        assert signed.status_code == 302
        stream = client.get("/live/stream", buffered=False)
        assert stream.status_code == 200
        chunks = iter(stream.response)
        assert b"event: hello" in next(chunks)
        next(chunks)  # still streaming while the account is active
        runtime.accounts.remove("stream-dispatcher")
        started = time.monotonic()
        rest = list(chunks)  # ends by itself: the generator returns at the next recheck
        assert time.monotonic() - started < 10
        assert all(b"event: patch" not in chunk for chunk in rest)
        assert client.get("/live/stream").status_code in (302, 401)  # and is not let back in
        stream.close()
    finally:
        runtime.stop()
