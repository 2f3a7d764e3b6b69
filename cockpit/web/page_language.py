"""Serve Dash's index page with `<html lang>` naming the language the request asks for."""

from __future__ import annotations

import re

import flask
from dash import Dash

from cockpit.i18n import html_lang, pick_language

HTML_TAG = re.compile(r"<html(?=[\s>])", re.IGNORECASE)


class LanguageDash(Dash):
    """A Dash app whose index page says its language, so screen readers and axe know it."""

    def __init__(self, *args, default_language: str, **kwargs) -> None:
        self.default_language = default_language
        super().__init__(*args, **kwargs)

    def interpolate_index(self, **kwargs) -> str:
        """Return Dash's index page with the ?lang= of the request (else the default) on <html>."""
        index = super().interpolate_index(**kwargs)
        lang = html_lang(pick_language(flask.request.args.get("lang"), self.default_language))
        # Every page of ours reloads on a language switch (an <a href>), so the tag stays true.
        return HTML_TAG.sub(f'<html lang="{lang}"', index, count=1)
