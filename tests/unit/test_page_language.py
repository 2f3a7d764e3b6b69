"""Dash's index page names the request's language on <html lang>, for every page we serve."""

from __future__ import annotations

import pytest
from dash import html

from cockpit.web.page_language import LanguageDash


@pytest.fixture
def client():
    """Return a test client of a one-page app whose default language is Chinese."""
    app = LanguageDash(__name__, default_language="zh")
    app.layout = html.Div("page")
    return app.server.test_client()


@pytest.mark.parametrize(
    ("query", "tag"),
    [
        ("?lang=en", '<html lang="en">'),
        ("?lang=zh", '<html lang="zh-CN">'),
        ("", '<html lang="zh-CN">'),
        ("?lang=fr", '<html lang="zh-CN">'),
    ],
)
def test_the_index_page_says_the_asked_language_or_the_default(client, query, tag):
    page = client.get("/" + query).get_data(as_text=True)
    assert tag in page
    assert page.count("<html") == 1
