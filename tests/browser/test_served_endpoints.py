"""Check that the running cockpit serves its machine endpoints next to the screens."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest

pytestmark = pytest.mark.browser


def test_open311_is_served_by_the_cockpit(cockpit):
    with urllib.request.urlopen(cockpit.url + "open311/v2/services.json?lang=en") as response:
        services = json.load(response)
    assert {"repair", "sanitation"} <= {s["service_code"] for s in services}
    body = urllib.parse.urlencode(
        {
            "service_code": "repair",
            "lat": "31.279",
            "long": "121.537",
            "description": "Stair light broken",
        }
    ).encode()
    with urllib.request.urlopen(cockpit.url + "open311/v2/requests.json", data=body) as response:
        assert response.status == 201
        request_id = json.load(response)[0]["service_request_id"]
    with urllib.request.urlopen(cockpit.url + f"open311/v2/requests/{request_id}.json") as response:
        assert json.load(response)[0]["description"] == "Stair light broken"
