"""The whole apply -> approve -> log in -> patrol -> review -> points flow in headless
Chromium (Debian chromium + chromium-driver) against a real ``gep serve`` on loopback, at a
phone's screen size. Skipped only when Chromium is missing and CI is unset."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import free_port, patrol_body, wait_port

_spec = importlib.util.spec_from_file_location(
    "gep_tests_browser", Path(__file__).resolve().parents[1] / "browser.py")
browser = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browser)
pytestmark = browser.skip_without_browser


@pytest.fixture(scope="module")
def server(basin_config, tmp_path_factory):
    from gep.portal import services as svc

    from .helpers import build

    tmp = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{tmp / 'portal.db'}"
    portal = build(basin_config, url)
    with portal.factory() as db:
        svc.create_user(portal, db, "chair", "chair-password", "committee")
        db.commit()
    portal.engine.dispose()
    port = free_port()
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "gep", "serve", "--config", str(basin_config),
                             "--db", url, "--port", str(port)], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def driver():
    with browser.chromium() as drv:
        yield drv


def _go(driver, element_id):
    """Click a link or submit button and wait until the next page has replaced this one."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def replaced(old):
        # Chromium reports a node of the unloaded page either as stale or (while the next
        # page is being attached) as "does not belong to the document": both mean it is gone
        def check(_):
            try:
                old.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as exc:
                if "does not belong to the document" in str(exc):
                    return True
                raise
        return check

    old = driver.find_element("tag name", "html")
    driver.find_element("id", element_id).click()
    WebDriverWait(driver, 60).until(replaced(old))
    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script("return document.readyState") == "complete")


def _severe(driver) -> list:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _login(driver, base, user, password):
    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element("id", "username").send_keys(user)
    driver.find_element("id", "password").send_keys(password)
    _go(driver, "login-submit")


def _set(driver, elem_id, value):
    el = driver.find_element("id", elem_id)
    driver.execute_script("arguments[0].value = arguments[1];", el, value)


def test_apply_approve_patrol_review_points(driver, server):
    base = server
    # 1. a citizen applies
    driver.get(base + "/")
    _go(driver, "go-apply")
    form = driver.find_element("id", "apply-form")
    form.find_element("name", "name").send_keys("李河长")
    form.find_element("name", "phone").send_keys("13800002222")
    from selenium.webdriver.support.ui import Select

    Select(form.find_element("name", "party_id")).select_by_value("west")
    form.find_element("name", "username").send_keys("lihe")
    form.find_element("name", "password").send_keys("river-password")
    _go(driver, "apply-submit")
    assert driver.find_element("id", "application-status").text == "pending"
    cid = driver.find_element("id", "application-id").text
    # a pending chief cannot patrol yet
    _login(driver, base, "lihe", "river-password")
    assert driver.find_element("id", "chief-status").text == "pending"
    assert not driver.find_elements("id", "new-patrol")
    # 2. the committee approves
    _login(driver, base, "chair", "chair-password")
    assert "李河长" in driver.find_element("id", "applications").text
    _go(driver, f"approve-{cid}")
    assert not driver.find_elements("id", f"approve-{cid}")
    # 3. the chief logs in and records a patrol (3.5 km inside its party, one finding)
    _login(driver, base, "lihe", "river-password")
    assert driver.find_element("id", "chief-status").text == "approved"
    _go(driver, "new-patrol")
    body = patrol_body(km=3.5)
    coords = body["track"]["coordinates"]
    _set(driver, "started_at", "2024-05-06T08:00")
    _set(driver, "ended_at", "2024-05-06T10:00")
    driver.find_element("id", "track").send_keys(
        "\n".join(f"{x:.7f},{y:.7f}" for x, y in coords))
    driver.find_element("id", "finding-0-description").send_keys("漂浮垃圾 floating waste")
    driver.find_element("id", "finding-0-lon").send_keys(f"{coords[1][0]:.7f}")
    driver.find_element("id", "finding-0-lat").send_keys(f"{coords[1][1]:.7f}")
    _go(driver, "patrol-submit")
    rows = driver.find_elements("css selector", "#my-patrols tbody tr")
    assert len(rows) == 1 and rows[0].find_element("class name", "status").text == "submitted"
    pid = rows[0].find_element("tag name", "td").text
    # 4. the committee reviews: accept, confirming the finding
    _login(driver, base, "chair", "chair-password")
    _go(driver, f"review-{pid}")
    assert abs(float(driver.find_element("id", "km-in-party").text) - 3.5) < 0.01
    driver.find_element("id", "confirm-0").click()
    _go(driver, "accept")
    assert not driver.find_elements("id", f"review-{pid}")
    # 5. the chief sees the points: 10 + 3 whole km x 2 + 1 confirmed finding x 20
    _login(driver, base, "lihe", "river-password")
    assert driver.find_element("id", "points-balance").text == str(10 + 6 + 20)
    # 6. the public page of the accepted patrol, on the basin map, without personal data
    driver.delete_all_cookies()
    driver.get(f"{base}/patrols/{pid}")
    assert driver.find_element("id", "patrol-points").text == "36"
    assert driver.find_elements("css selector", "svg.map polyline.track")
    assert len(driver.find_elements("css selector", "svg.map path.party")) == 2
    page = driver.page_source
    assert "李河长" not in page and "13800002222" not in page and "lihe" not in page
    # fits a phone screen, switches language, and no script errors anywhere
    assert driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1")
    driver.find_element("id", "lang-toggle").click()
    assert driver.execute_script("return document.documentElement.dataset.lang") == "en"
    driver.get(base + "/leaderboard")
    assert "36" in driver.find_element("id", "leaderboard").text
    assert _severe(driver) == []
