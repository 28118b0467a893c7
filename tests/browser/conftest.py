"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``, installed by
``make browser-deps``) driven by selenium against pytest-django's ``live_server``.

Each test saves screenshots of the pages it went through in ``build/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from ..conftest import missing

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
PASSWORD = "browser-tests-pw"


@pytest.fixture(scope="session")
def browser(live_server):
    # Set up after the live server, so torn down before it: Chromium keeps connections
    # alive, and a request thread that ends after the server stopped sharing the in-memory
    # SQLite connection fails closing it ("DatabaseWrapper objects created in a thread ...").
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            reason = f"{path} is not installed: `make browser-deps` installs chromium and chromium-driver"
            if os.environ.get("STRIPE_DJANGO_BROWSER_TESTS") == "required":  # .ci/run
                pytest.fail(reason)
            missing(reason)
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000", "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.implicitly_wait(0)
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # only this run's pictures
    SCREENSHOTS.mkdir(parents=True)
    yield driver
    driver.quit()
    # The server's request threads are daemons it never joins: wait for the ones the
    # browser's closed connections have just woken, while the connection is still shared.
    for thread in threading.enumerate():
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout=30)


class Page:
    """The browser on the live server: open a path, find, wait, and save screenshots."""

    def __init__(self, driver, base_url: str, name: str) -> None:
        self.driver = driver
        self.base_url = base_url
        self.name = name
        self.shots = 0

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def find(self, css: str):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        # generous: CI machines are shared
        return WebDriverWait(self.driver, 30).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))

    def link(self, text: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.LINK_TEXT, text)

    def follow(self, element) -> None:
        """Click a link or button and wait until the next page has replaced this one
        (elements the two pages share must not be read from the old one)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        # A mark on the old page's window: a new page starts without it. (Waiting for an
        # old element to go stale is not enough: chromedriver may answer "node does not
        # belong to the document" instead of "stale" while the page is being replaced.)
        self.driver.execute_script("window.stripeDjangoOldPage = true;")
        element.click()
        WebDriverWait(self.driver, 30, ignored_exceptions=(WebDriverException,)).until(
            lambda driver: driver.execute_script(
                "return window.stripeDjangoOldPage === undefined"
                " && document.readyState === 'complete';"))

    @property
    def text(self) -> str:
        return self.find("body").text

    def screenshot(self, step: str) -> Path:
        self.shots += 1
        path = SCREENSHOTS / f"{self.name}-{self.shots:02d}-{step}.png"
        self.driver.save_screenshot(str(path))
        return path

    def log_in(self, username: str) -> None:
        self.open("/admin/login/")
        self.find("#id_username").send_keys(username)
        self.find("#id_password").send_keys(PASSWORD)
        self.follow(self.find("input[type=submit]"))
        if "/login/" in self.driver.current_url:
            self.screenshot("login-failed")
            raise AssertionError(f"still on the login page: {self.text[:500]}")
        self.find("#user-tools")


@pytest.fixture
def page(browser, live_server, request, transactional_db):
    from django.contrib.auth.models import User

    User.objects.create_superuser("support", "support@example.com", PASSWORD)
    browser.delete_all_cookies()
    page = Page(browser, live_server.url, request.node.name.removeprefix("test_"))
    page.log_in("support")
    return page
