"""End to end in a real browser: Debian's headless Chromium (through Debian's chromedriver and Selenium)
opens the demo page served from another local origin, and the page reads a sample card that sits in the
vpcd virtual reader behind a real pcscd, through ``cccd-read serve``'s application under uvicorn.

No browser is downloaded: /usr/bin/chromium and /usr/bin/chromedriver come from drivers/setup-dev.sh.
Without them the test skips locally and fails in CI (CI=true).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pcsc_support import IN_CI, card_on

from cccd_reader.emulator import load_sample, sample_persona, sample_trust_anchor
from cccd_reader.serve import PCSCReaders, ReadService
from cccd_reader.serve.app import STATIC, ServeSettings, create_app
from cccd_reader.serve.security import OriginPolicy
from cccd_reader.serve.server import ServerThread
from cccd_reader.verify import TrustStore

pytestmark = pytest.mark.pcsc

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
TIMEOUT = 30


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the browser test cannot run in CI: {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def static_site() -> Iterator[str]:
    """The demo page's files on a free loopback port: another origin than the service's."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(STATIC))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        _missing("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (pip install -e '.[test]')")
    profile = tempfile.mkdtemp(prefix="cccd-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(TIMEOUT)
    driver.set_script_timeout(TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[str, str]]:
    with static_site() as allowed, static_site() as other:
        yield allowed, other


@pytest.fixture
def service_url(pcsc_reader: Any, sites: tuple[str, str]) -> Iterator[tuple[str, ReadService]]:
    allowed, _other = sites
    service = ReadService(PCSCReaders(pcsc_reader.name), trust=TrustStore.from_paths(sample_trust_anchor()),
                          wait=5)
    app = create_app(service, ServeSettings(origins=OriginPolicy.from_list([allowed])), poll_interval=0.2)
    with card_on(pcsc_reader, load_sample("an")), ServerThread(app) as server:
        yield server.url, service


def _wait(driver: Any, condition: Any, what: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, TIMEOUT, poll_frequency=0.1).until(condition)
    except Exception as exc:
        status = driver.find_element("id", "status").text
        error = driver.find_element("id", "error").text
        raise AssertionError(f"{what}: status={status!r} error={error!r}") from exc


def test_demo_page_from_an_allowed_origin_reads_the_card(browser: Any, sites: tuple[str, str],
                                                         service_url: tuple[str, ReadService]) -> None:
    url, service = service_url
    allowed, _ = sites
    person = sample_persona("an")
    browser.get(f"{allowed}/index.html?lang=en&service={url}")
    _wait(browser, lambda d: d.find_element("id", "status").get_attribute("data-state") == "ok",
          "the page did not see the card on the reader")
    assert browser.find_element("id", "status").text == "Card ready"
    browser.find_element("id", "key").send_keys(person.can)
    browser.find_element("id", "read").click()
    _wait(browser, lambda d: d.find_element("id", "verdict").get_attribute("data-verdict"),
          "the page showed no verdict")
    assert browser.find_element("id", "verdict").get_attribute("data-verdict") == "genuine"
    assert browser.find_element("id", "verdict").text == "Genuine: the chip's data is authentic"
    assert browser.find_element("id", "name").text == person.full_name
    assert browser.find_element("id", "id_number").text == person.id_number
    assert browser.find_element("id", "date_of_birth").text == person.date_of_birth.strftime("%d/%m/%Y")
    assert browser.find_element("id", "sex").text == {"M": "Male", "F": "Female"}[person.sex_letter]
    # the chip's portrait, decoded by the browser (decoding a data URL is asynchronous)
    width = "return document.getElementById('portrait').naturalWidth"
    _wait(browser, lambda d: d.execute_script(width) == 240, "the page showed no 240-pixel portrait")
    assert browser.find_element("id", "key").get_attribute("value") == ""  # the CAN is not kept
    assert browser.find_element("id", "progress").get_attribute("value") == "8"
    # the same page in Vietnamese
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", "lang")).select_by_value("vi")
    assert browser.find_element("id", "verdict").text == "Thẻ thật: dữ liệu trên chip đã được xác thực"
    assert browser.find_element("id", "read").text == "Đọc thẻ"
    assert browser.find_element("id", "sex").text == person.sex
    assert service.last is not None and service.last["record"]["identity"]["full_name"] == person.full_name


def test_demo_page_from_another_origin_gets_no_data(browser: Any, sites: tuple[str, str],
                                                    service_url: tuple[str, ReadService]) -> None:
    url, service = service_url
    _, other = sites
    person = sample_persona("an")
    browser.get(f"{other}/index.html?lang=en&service={url}")
    _wait(browser, lambda d: d.find_element("id", "status").get_attribute("data-state") == "down",
          "the page was not refused")
    browser.find_element("id", "key").send_keys(person.can)
    browser.find_element("id", "read").click()
    _wait(browser, lambda d: d.find_element("id", "error").get_attribute("data-code"), "no error shown")
    assert browser.find_element("id", "error").get_attribute("data-code") == "network"
    assert browser.find_element("id", "name").text == ""
    assert not browser.find_element("id", "result").is_displayed()
    # what a hostile script on that origin could try directly: every answer is withheld
    outcome = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const base = arguments[0];
        const out = {};
        const tries = [
          fetch(base + "/v1/status").then(r => "status " + r.status, e => "refused"),
          fetch(base + "/v1/result").then(r => "status " + r.status, e => "refused"),
          fetch(base + "/v1/read", {method: "POST", headers: {"Content-Type": "application/json"},
                body: JSON.stringify({can: arguments[1]})}).then(r => "status " + r.status, e => "refused"),
          fetch(base + "/v1/read", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"},
                body: JSON.stringify({can: arguments[1]})}).then(r => "opaque", e => "refused"),
          new Promise((resolve) => {
            const ws = new WebSocket(base.replace("http", "ws") + "/v1/events");
            ws.onmessage = () => resolve("message");
            ws.onerror = () => resolve("refused");
          }),
        ];
        Promise.all(tries).then(done);
    """, url, person.can)
    assert outcome[:3] == ["refused", "refused", "refused"]
    assert outcome[3] in ("opaque", "refused")  # a no-cors POST gets nothing readable, and no read runs
    assert outcome[4] == "refused"
    assert service.last is None  # no read ran for that origin
