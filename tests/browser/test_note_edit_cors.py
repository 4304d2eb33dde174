"""A web client edits a note across origins, through the whole local chain, in headless Chromium.

The page (another origin) signs in with the Firebase JS SDK against the Auth emulator, creates a note,
reads its ETag and PATCHes it with If-Match through the gateway, which applies the CORS configuration of
the template it is given as HTTP API would. With template.yml's configuration that works; with the one
before the fix (fixtures/template-cors-before-fix.yml) it fails for the reasons it failed on AWS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from selenium import webdriver
from selenium.webdriver.support.ui import WebDriverWait

from devstack import config, paths
from devstack.environment import local_environment
from devstack.supervision import LogCapture

pytestmark = pytest.mark.browser

BEFORE_FIX = Path(__file__).parent / "fixtures" / "template-cors-before-fix.yml"
PAGE_DONE_S = 60.0  # generous: the first request pays the function's cold start


@contextmanager
def _note_edited_in_browser(
    browser: webdriver.Chrome, page_origin: str, api_template: Path
) -> Iterator[dict[str, Any]]:
    """Start the local chain with the gateway playing `api_template`'s API, run the page, yield its result."""
    facts = config.load().isolated()
    with local_environment(facts, api_template=api_template, sink=LogCapture()) as environment:
        endpoints = environment.endpoints
        query = {
            "api": endpoints.api,
            "auth": endpoints.firebase_auth_host,
            "project": endpoints.project_id,
            "email": f"browser-{uuid.uuid4().hex[:10]}@example.com",
        }
        browser.get(f"{page_origin}/?{urlencode(query)}")
        WebDriverWait(browser, PAGE_DONE_S).until(lambda driver: driver.title == "done")
        result: dict[str, Any] = browser.execute_script("return window.result")
        console = [entry["message"] for entry in browser.get_log("browser")]  # type: ignore[no-untyped-call]
        yield {**result, "console": console}  # the browser's own words, shown when an assertion fails


def test_note_edit_works_with_template_cors(browser: webdriver.Chrome, page_origin: str) -> None:
    with _note_edited_in_browser(browser, page_origin, paths.TEMPLATE) as result:
        shown = json.dumps(result, indent=1)
        assert result.get("signedIn"), shown
        assert result["create"]["status"] == 201, shown
        assert result["create"]["etag"] == '"1"', shown  # readable: ExposeHeaders lists etag
        assert result["edit"]["status"] == 200, shown
        assert result["edit"]["etag"] == '"2"', shown
        assert json.loads(result["read"]["body"])["title"] == "edited in the browser", shown


def test_note_edit_fails_with_the_cors_before_the_fix(browser: webdriver.Chrome, page_origin: str) -> None:
    """As on AWS: the ETag is unreadable (no ExposeHeaders) and the PATCH's preflight is refused (no
    if-match in AllowHeaders), while the same PATCH without If-Match passes its preflight and reaches
    the API."""
    with _note_edited_in_browser(browser, page_origin, BEFORE_FIX) as result:
        shown = json.dumps(result, indent=1)
        assert result.get("signedIn"), shown
        assert result["create"]["status"] == 201, shown
        assert result["create"]["etag"] is None, shown
        assert result["edit"] == {"error": "TypeError: Failed to fetch"}, shown
        assert result["editWithoutIfMatch"]["status"] == 428, shown
