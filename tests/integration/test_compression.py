"""Serve large answers compressed when the client asks, plain when not, security headers kept."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from typing import Any

import brotli
import orjson
import pytest

from cockpit.web.compression import MIN_SIZE
from tests.signed_in import clients_per_role, tiny_cockpit

pytestmark = pytest.mark.integration

SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options")
SCRIPT = re.compile(r'<script[^>]+src="(/_dash-component-suites/[^"]+)"')
DECODE = {"gzip": gzip.decompress, "br": brotli.decompress}


@pytest.fixture(scope="module")
def cockpit(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """Seed a tiny street, publish its views, and sign a wall's client in."""
    app, runtime, _engine = tiny_cockpit(tmp_path_factory.mktemp("compress"))
    runtime.make_worker().tick()
    clients = clients_per_role(app.server, runtime.accounts, "z", 1)
    yield {"app": app, "wall": clients["kiosk"], "anyone": clients[None]}
    runtime.stop()


def fetch(client: Any, url: str, accept: str | None, **post: Any) -> Any:
    """Return the answer to a GET (or a POST when a body is given) with the Accept-Encoding."""
    headers = {"Accept-Encoding": accept} if accept else {}
    if post:
        return client.post(url, headers=headers, content_type="application/json", **post)
    return client.get(url, headers=headers)


def body(response: Any) -> bytes:
    """Return the response's bytes as sent (a streamed file read whole)."""
    response.direct_passthrough = False
    return response.get_data()


def check_both_ways(client: Any, url: str, accept: str, encoding: str, **post: Any) -> bytes:
    """Assert the URL comes compressed when asked and plain when not; return the plain bytes."""
    plain = fetch(client, url, None, **post)
    packed = fetch(client, url, accept, **post)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == encoding
    raw = body(plain)
    assert len(raw) >= MIN_SIZE
    sent = body(packed)
    unpacked = DECODE[encoding](sent)
    if post:
        # A refresh says how old each view is: the same answer a moment later, but not byte for byte.
        assert orjson.loads(unpacked)["response"].keys() == orjson.loads(raw)["response"].keys()
    else:
        assert unpacked == raw
    assert len(sent) < len(raw) / 2
    for response in (plain, packed):
        assert "accept-encoding" in response.headers.get("Vary", "").lower()
        for header in SECURITY_HEADERS:
            assert response.headers.get(header), header
    return raw


def refresh_request(app: Any) -> bytes:
    """Return the refresh callback's body holding no view: every view comes back new."""
    output = next(key for key in app.callback_map if "heartbeat-store.data" in key)
    spec = app.callback_map[output]
    outputs = [
        {"id": item.split(".")[0], "property": item.split(".")[1]}
        for item in output.strip(".").split("...")
    ]
    return orjson.dumps(
        {
            "output": output,
            "outputs": outputs,
            "inputs": [dict(i, value=1) for i in spec["inputs"]],
            "changedPropIds": ["refresh-interval.n_intervals"],
            "state": [dict(s, value={}) for s in spec["state"]],
        }
    )


def test_the_walls_scripts_come_gzipped_when_asked(cockpit):
    page = cockpit["wall"].get("/?mode=wall").get_data(as_text=True)
    scripts = SCRIPT.findall(page)
    assert scripts, "the wall's page names no Dash script"
    largest = max(scripts, key=lambda url: len(body(cockpit["wall"].get(url))))
    check_both_ways(cockpit["wall"], largest, "gzip", "gzip")


@pytest.mark.parametrize(("accept", "encoding"), [("gzip", "gzip"), ("gzip, deflate, br", "br")])
def test_a_full_refresh_comes_compressed_when_asked(cockpit, accept, encoding):
    raw = check_both_ways(
        cockpit["wall"],
        "/_dash-update-component",
        accept,
        encoding,
        data=refresh_request(cockpit["app"]),
    )
    assert b"view-versions" in raw


def test_an_asset_streamed_from_disk_comes_gzipped(cockpit):
    check_both_ways(cockpit["wall"], "/assets/map.js", "gzip", "gzip")


def test_a_small_answer_is_left_alone(cockpit):
    response = fetch(cockpit["anyone"], "/healthz/live", "gzip, br")
    assert response.status_code == 200
    assert len(body(response)) < MIN_SIZE
    assert "Content-Encoding" not in response.headers
