"""Serve GET /healthz from the published source-health view model: 200 whenever the web serves."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from flask import Blueprint, Response

from cockpit.panels import SOURCE_HEALTH

log = logging.getLogger(__name__)

# The publisher's wall-clock stamp is replaced by the model's age, which a monitor can read.
HIDDEN_KEYS = ("published_wall",)


def make_health_blueprint(read_view: Callable[[str], dict[str, Any] | None]) -> Blueprint:
    """Return a blueprint answering /healthz from read_view('source_health'); it never runs SQL."""
    blueprint = Blueprint("cockpit_health", __name__)
    # Per blueprint, not per module: log once when the cache goes away and once when it is back.
    cache_failing = [False]

    @blueprint.get("/healthz")
    def healthz() -> Response:
        """Describe the sources; the status code only says that this web process answers."""
        try:
            model = read_view(SOURCE_HEALTH)
        except Exception as exc:  # a dead cache is news for the body, never a 500
            if not cache_failing[0]:
                log.warning("healthz cannot read the view cache: %s", exc)
            cache_failing[0] = True
            body: dict[str, Any] = {
                "status": "unknown",
                "sources": [],
                "error": f"view cache unreachable: {exc.__class__.__name__}",
            }
        else:
            if cache_failing[0]:
                log.info("healthz reads the view cache again")
            cache_failing[0] = False
            body = _body(model)
        response = Response(orjson.dumps(body), status=200, mimetype="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response

    return blueprint


def _body(model: dict[str, Any] | None) -> dict[str, Any]:
    """Return the published model with its age, or 'starting' when nothing is published yet."""
    if not model:
        return {"status": "starting", "sources": []}
    body = {k: v for k, v in model.items() if k not in HIDDEN_KEYS}
    published = model.get("published_wall")
    if isinstance(published, int | float):
        # A worker that stopped publishing leaves an old model behind: show how old it is.
        body["model_age_s"] = round(max(0.0, time.time() - published), 1)
    return body
