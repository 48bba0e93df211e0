"""The static site: escaping of every user string, and a real headless Chromium loading it from file://.

The browser tests need Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package; where
they are missing the tests skip saying so, unless ``ARCHBENCH_REQUIRE_BROWSER=1`` (set by ``.ci/run``),
which turns the skip into a failure. A screenshot of the board page is saved under
``runs/test-artefacts/`` (or ``$ARCHBENCH_ARTEFACTS``).
"""

from __future__ import annotations

import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leaderboards.board import init_board, submit
from leaderboards.scoring import score_board
from leaderboards.site import render_site
from tests._leaderboard_helpers import write_submission, write_table

PAYLOADS = (
    "<script>window.__xss=1</script>",
    '"><img src=x onerror="window.__xss=1">',
    "'><svg onload=window.__xss=1>",
    "</title><script>window.__xss=1</script>",
)
URL_PAYLOAD = 'https://x.invalid/"><script>window.__xss=1</script>'


def _hostile_meta(payload: str) -> dict[str, object]:
    return {
        "method": f"m {payload}",
        "authors": [payload, f"B {payload}"],
        "code_url": URL_PAYLOAD,
        "compute": {"hardware": payload, "hours": 1.5},
        "archbench_version": payload[:60],
        "command": f"archbench x --flag '{payload}'",
        "description": payload,
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lb-site")
    table = write_table(root / "t", n=30)
    board = init_board(table, "proxy", root / "board", root / "host", {"task": "toy"}, title=PAYLOADS[3])
    ids = board.public["archs"]["arch_id"]
    for i, payload in enumerate(PAYLOADS):
        scores = np.random.default_rng(i).normal(size=len(ids)) + i * np.linspace(0, 1, len(ids))
        rows_path, meta_path = write_submission(
            root / f"s{i}",
            pd.DataFrame({"arch_id": ids, "score": scores}),
            board.info["release"],
            **_hostile_meta(payload),
        )
        submit(board, rows_path, meta_path)
    score_board(board, root / "host", 200)
    search = init_board(table, "search", root / "search", root / "search-host", {"task": "toy", "budget": 4})
    render_site([board, search], root / "site")
    return root / "site"


class _Elements(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_every_user_string_is_escaped(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == 1 + 2 + len(PAYLOADS)  # index, two boards, a page per submission
    for page in pages:
        text = page.read_text()
        for payload in (*PAYLOADS, URL_PAYLOAD):
            assert payload not in text, (page, payload)
        parser = _Elements()
        parser.feed(text)
        scripts = [attrs.get("src") for tag, attrs in parser.tags if tag == "script"]
        assert len(scripts) == 1 and scripts[0].endswith("sort.js"), page
        assert not [tag for tag, _ in parser.tags if tag in ("img", "svg") and tag != "img"]
        for tag, attrs in parser.tags:
            assert not any(name.startswith("on") for name in attrs), (page, tag, attrs)
            if tag == "img":
                assert attrs["src"] == "scores.svg"
            if tag == "a":
                assert not str(attrs.get("href", "")).lower().startswith("javascript:")
    submission = next(p for p in pages if p.name.startswith("0001"))
    assert "archbench x --flag &#x27;&lt;script&gt;" in submission.read_text()  # the exact command, escaped


def test_board_page_shows_intervals_deltas_and_separability(site):
    text = next(site.glob("proxy*/index.html")).read_text()
    assert "hidden kendall [95% CI]" in text and "rank Δ (public − hidden)" in text
    assert "separable from above" in text and ("yes (" in text or "no (" in text)
    assert (next(site.glob("proxy*/scores.svg"))).stat().st_size > 1000
    assert "No scored submissions yet" in next(site.glob("search*/index.html")).read_text()


# ---- the real browser -------------------------------------------------------------------------------
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    problems = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        problems.append("the selenium package is not installed (pip install -e '.[leaderboards]')")
    if not CHROMIUM or not DRIVER:
        problems.append("no chromium/chromedriver on PATH (apt-get install chromium chromium-driver)")
    if problems:
        reason = "; ".join(problems)
        if os.environ.get("ARCHBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ARCHBENCH_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def _no_script_ran(driver) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    assert driver.execute_script("return typeof window.__xss") == "undefined"
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors


def test_site_in_chromium(site, browser):
    from selenium.webdriver.common.by import By

    pages = sorted(site.rglob("*.html"))
    for page in pages:
        browser.get(page.as_uri())
        _no_script_ran(browser)
        for img in browser.find_elements(By.TAG_NAME, "img"):
            assert (
                browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 0
            )
    board_page = next(site.glob("proxy*/index.html"))
    browser.get(board_page.as_uri())

    def column(i: int) -> list[str]:
        return [
            r.find_elements(By.TAG_NAME, "td")[i].get_attribute("data-v")
            for r in browser.find_elements(By.CSS_SELECTOR, "#scores tbody tr")
        ]

    headers = browser.find_elements(By.CSS_SELECTOR, "#scores thead th button")
    names = [h.text for h in headers]
    hidden = next(i for i, n in enumerate(names) if n.startswith("hidden"))
    ranked = [float(v) for v in column(hidden)]
    assert ranked == sorted(ranked, reverse=True)  # rendered best first
    headers[hidden].click()
    assert [float(v) for v in column(hidden)] == sorted(ranked)
    headers[hidden].click()
    assert [float(v) for v in column(hidden)] == sorted(ranked, reverse=True)
    method = names.index("method")
    headers[method].click()
    assert column(method) == sorted(column(method))
    _no_script_ran(browser)
    artefacts = Path(
        os.environ.get("ARCHBENCH_ARTEFACTS", Path(__file__).resolve().parents[1] / "runs" / "test-artefacts")
    )
    artefacts.mkdir(parents=True, exist_ok=True)
    shot = artefacts / "leaderboard-board-page.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
