"""Debian's headless Chromium for the browser tests (the console, the retail store's journey), driven by
selenium through Debian's chromedriver: installed with apt-get when missing; a test skips, saying why, only
when that is impossible."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


def install_chromium() -> str | None:
    """None when chromium and chromedriver are there (installing them with apt-get if need be), else why not."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "chromium/chromedriver are missing and cannot be installed here (needs root and apt-get)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"]):
        if subprocess.run(command, env=env, capture_output=True, timeout=900).returncode != 0:
            return f"`{' '.join(command)}` failed: chromium cannot be installed on this machine"
    return None


@contextmanager
def chromium(window_size: str) -> Iterator[Any]:
    """A headless Chromium WebDriver with the browser console log kept, quit afterwards."""
    reason = install_chromium()
    if reason:
        pytest.skip(reason)
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra: run scripts/install")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-proxy-server",
                     f"--window-size={window_size}"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The Debian driver, never selenium-manager (it would try to download a browser).
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
