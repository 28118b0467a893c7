"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``, installed by
``make browser-deps``) driven by selenium against pytest-django's ``live_server``.

Each test saves screenshots of the pages it went through in ``build/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ..conftest import missing

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
PASSWORD = "browser-tests-pw"


@pytest.fixture(scope="session")
def browser():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            missing(f"{path} is not installed: `make browser-deps` installs chromium and chromium-driver")
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

        return WebDriverWait(self.driver, 10).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))

    def link(self, text: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.LINK_TEXT, text)

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
        self.find("input[type=submit]").click()
        try:
            self.find("#site-name")
        except Exception:
            self.screenshot("login-failed")
            raise AssertionError(self.driver.page_source[:3000])
        # The login page has a #site-name too: wait for the redirect away from it.
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, 10).until(lambda driver: "/login/" not in driver.current_url)


@pytest.fixture
def page(browser, live_server, request, transactional_db):
    from django.contrib.auth.models import User

    User.objects.create_superuser("support", "support@example.com", PASSWORD)
    browser.delete_all_cookies()
    page = Page(browser, live_server.url, request.node.name.removeprefix("test_"))
    page.log_in("support")
    return page
