"""The browser tests' parts: Debian's headless Chromium and its chromedriver, and the page's own origin (a
loopback server for tests/browser/page and the Firebase JS SDK from tests/browser/node_modules)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.support.loopback import serving

BROWSER_DIR = Path(__file__).parent
PAGE_DIR = BROWSER_DIR / "page"
FIREBASE_SDK = BROWSER_DIR / "node_modules" / "firebase"
INSTALL_FIX = (
    "Run `make install-browser` (Chromium and chromedriver from Debian, the Firebase JS SDK from npm)."
)


def _sdk_version() -> str:
    package = FIREBASE_SDK / "package.json"
    if not package.exists():
        pytest.fail(f"No Firebase JS SDK at {FIREBASE_SDK}. {INSTALL_FIX}")
    version: str = json.loads(package.read_text())["version"]
    return version


class _PageFiles(BaseHTTPRequestHandler):
    """GET / (the page, its import map filled in), /page.js, /firebasejs/<version>/<module>.js; else 404."""

    sdk_version = ""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        sdk_prefix = f"/firebasejs/{self.sdk_version}/"
        if path == "/":
            html = (PAGE_DIR / "index.html").read_text().replace("FIREBASE_SDK_VERSION", self.sdk_version)
            self._reply("text/html", html.encode())
        elif path == "/page.js":
            self._reply("text/javascript", (PAGE_DIR / "page.js").read_bytes())
        elif path.startswith(sdk_prefix) and "/" not in path.removeprefix(sdk_prefix):
            module = FIREBASE_SDK / path.removeprefix(sdk_prefix)
            if module.suffix == ".js" and module.is_file():
                self._reply("text/javascript", module.read_bytes())
            else:
                self.send_error(404)
        else:
            self.send_error(404)

    def _reply(self, content_type: str, body: bytes) -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:  # the test reads the page's result, not an access log
        pass


@pytest.fixture(scope="session")
def page_origin() -> Iterator[str]:
    """The page's origin: 127.0.0.1 on a port of its own, so the gateway is another origin."""
    handler = type("PageFiles", (_PageFiles,), {"sdk_version": _sdk_version()})
    with serving(handler) as port:
        yield f"http://127.0.0.1:{port}"


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"No {name} on PATH. {INSTALL_FIX}")
    return found


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium per test (no preflight cached from another run). It reaches 127.0.0.1
    only: any other host name fails to resolve, so nothing (a CDN) can be fetched from outside."""
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI and this machine run as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=_binary("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()
