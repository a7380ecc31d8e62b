"""The UI in a real browser: Debian's Chromium driven by Playwright.

Skipped, with the reason, where Playwright or Chromium is missing (`.ci/run` installs Debian's
chromium; Playwright's own browser download cannot work without the internet). Screenshots
go to the test's folder, and to ``$VIDGEN_UI_SCREENSHOTS`` when that is set (the README's
picture is taken that way).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("VIDGEN_CHROMIUM", "/usr/bin/chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright to run the browser tests")
if not Path(CHROMIUM).is_file():
    pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set VIDGEN_CHROMIUM) to run the "
                "browser tests", allow_module_level=True)

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports_v1"


@pytest.fixture(scope="module")
def page(server):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server[0])
        page.wait_for_selector("#generate-button", timeout=30_000)
        yield page
        browser.close()


def _shot(page, tmp_path: Path, name: str) -> Path:
    path = page.screenshot(path=str(tmp_path / name), full_page=True) and tmp_path / name
    target = os.environ.get("VIDGEN_UI_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)
    return path


def _video_state(page, selector: str) -> dict:
    return page.wait_for_function(
        """(sel) => { const v = document.querySelector(sel + ' video');
                      return v && v.readyState >= 2 && v.videoWidth > 0
                          ? {readyState: v.readyState, width: v.videoWidth, height: v.videoHeight} : null; }""",
        arg=selector, timeout=60_000).json_value()


def test_generate_plays_in_the_browser(page, tmp_path):
    from vidgen.zoo import find_shipped

    if find_shipped("shapes-cond64") is None:  # the shipped generator is the default choice; else a fixture
        page.locator("#generate-model input").fill(str(EXPORTS / "gan_cond_tiny"))
        page.locator("#generate-model input").press("Enter")
    else:
        assert page.locator("#generate-model input").input_value() == "shapes-cond64"
        page.locator("#generate-class input").click()
        page.get_by_role("option", name="every class (one row each)").click()
    page.click("#generate-button")
    state = _video_state(page, "#generate-video")
    assert state["readyState"] >= 2 and state["width"] >= 256 and state["height"] >= 256  # decoded by the browser
    page.wait_for_selector("#generate-still img", timeout=30_000)
    assert _shot(page, tmp_path, "ui_generate.png").stat().st_size > 10_000


def test_upload_a_clip_to_the_continue_tab(page, server, tmp_path):
    page.get_by_role("tab", name="Continue a clip").click()  # the shipped predictor is the default choice
    page.locator("#continue-upload input[type=file]").set_input_files(server[1].example_clip())
    page.wait_for_timeout(1000)
    page.click("#continue-button")
    state = _video_state(page, "#continue-video")
    assert state["width"] > 0
    _shot(page, tmp_path, "ui_continue.png")


def test_a_bad_upload_shows_a_message_not_a_traceback(page, tmp_path):
    page.reload()  # a fresh page: the upload box empty again
    page.wait_for_selector("#generate-button", timeout=30_000)
    page.get_by_role("tab", name="Continue a clip").click()
    page.locator("#continue-model input").fill(str(EXPORTS / "convlstm_tiny"))
    page.locator("#continue-model input").press("Enter")
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is text")
    page.locator("#continue-upload input[type=file]").set_input_files(str(bad))
    page.wait_for_timeout(1000)
    page.click("#continue-button")
    toast = page.get_by_text("is not a video this server can read")
    toast.first.wait_for(timeout=30_000)
    assert "Traceback" not in page.content()
