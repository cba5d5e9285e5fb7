"""The workspace in a real browser (Debian's chromium through Playwright), with the keyboard.

Few tests, each a reviewer's whole errand; screenshots of each main page go to the test run's
temporary folder (`screenshots/` under pytest's base temp).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Response, sync_playwright
from tests.web.browser import CHROMIUM, served
from tests.web.conftest import FAST_HASHER, ReviewWorld, build_review_world
from tests.web.helpers import PASSWORD

from cairn.services import identity
from cairn.web.app import create_server


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewWorld]:
    root = tmp_path_factory.mktemp("browser")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(identity, "_hasher", FAST_HASHER)
        yield build_review_world(root, f"sqlite:///{root / 'cairn.db'}")


@pytest.fixture(scope="module")
def base_url(world: ReviewWorld) -> Iterator[str]:
    with served(create_server(world.workspace, world.database_url, run_jobs=False)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


def log_in(browser: Browser, base_url: str, username: str) -> Page:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{base_url}/cases/A-1/queue")
    assert page.url.startswith(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base_url}/cases/A-1/queue")
    return page


def current(page: Page) -> str:
    sha = page.locator('li.card[aria-current="true"]').get_attribute("data-sha256")
    assert sha is not None
    return sha


def test_reveal_one_item_whose_bytes_were_blurred_grey_until_then(
    browser: Browser, base_url: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    served_images: dict[str, bytes] = {}

    def keep(response: Response) -> None:
        if response.url.endswith("/protected.jpg"):
            served_images[response.url.split("/")[-2]] = response.body()

    page.on("response", keep)
    page.goto(f"{base_url}/login")
    page.screenshot(path=screenshots / "login.png")
    page.close()
    page = log_in(browser, base_url, "victim-id.aa-1")
    page.on("response", keep)
    page.reload()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshots / "queue.png", full_page=True)
    cards = page.locator("li.card")
    shas = [cards.nth(i).get_attribute("data-sha256") for i in range(cards.count())]
    assert set(served_images) == set(shas)
    first = current(page)
    assert first == shas[0]
    page.keyboard.press("j")
    assert current(page) == shas[1]
    page.keyboard.press("ArrowLeft")
    assert current(page) == first
    page.keyboard.press("r")
    image = page.locator('li.card[aria-current="true"] img.thumb')
    page.wait_for_function("el => el.src.startsWith('blob:')", arg=image.element_handle())
    # The revealed picture as the page shows it, decoded by the browser.
    width, height, rgba = page.evaluate(
        """el => {
            const canvas = document.createElement("canvas");
            canvas.width = el.naturalWidth;
            canvas.height = el.naturalHeight;
            const context = canvas.getContext("2d");
            context.drawImage(el, 0, 0);
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            return [canvas.width, canvas.height, Array.from(data)];
        }""",
        image.element_handle(),
    )
    pixels = np.array(rgba, np.uint8).reshape(height, width, 4)[..., :3]
    clear = Image.fromarray(pixels, "RGB")
    page.screenshot(path=screenshots / "queue-revealed.png", full_page=True)
    # Before the reveal the browser held only a grey, blurred image of the same picture.
    hidden = Image.open(io.BytesIO(served_images[first]))
    assert hidden.mode == "L" and clear.mode == "RGB" and hidden.size == clear.size
    grey = np.asarray(clear.convert("L"), np.float64)
    difference = np.abs(np.asarray(hidden, np.float64) - grey)
    assert difference.mean() > 3  # not the clear picture in grey
    assert abs(float(np.asarray(hidden, np.float64).mean()) - grey.mean()) < 8  # but its tones
    page.keyboard.press("r")  # hide it again
    page.wait_for_function("el => !el.src.startsWith('blob:')", arg=image.element_handle())
    page.goto(f"{base_url}/exposure")
    assert "you revealed <strong>1</strong> items" in page.content()
    page.screenshot(path=screenshots / "exposure.png")


def test_another_agencys_case_is_the_404_page(
    browser: Browser, base_url: str, screenshots: Path
) -> None:
    page = log_in(browser, base_url, "examiner.aa-1")
    theirs = page.goto(f"{base_url}/cases/B-1/queue")
    assert theirs is not None and theirs.status == 404
    text = page.content()
    page.screenshot(path=screenshots / "not-found.png")
    missing = page.goto(f"{base_url}/cases/NO-SUCH/queue")
    assert missing is not None and missing.status == 404
    assert page.content() == text


def test_map_graph_item_and_series_pages_by_keyboard(
    browser: Browser, base_url: str, world: ReviewWorld, screenshots: Path
) -> None:
    page = log_in(browser, base_url, "examiner.aa-1")
    page.goto(f"{base_url}/cases/A-1/map")
    assert page.locator("#map path.land").count() >= 10
    page.screenshot(path=screenshots / "map.png", full_page=True)
    # The photo's point is a link in the tab order: Enter opens the item.
    point = page.locator("#map a").first
    point.focus()
    page.keyboard.press("Enter")
    sha = world.files["gps14.jpg"]
    page.wait_for_url(f"{base_url}/cases/A-1/items/{sha}")
    page.keyboard.press("r")
    thumb = page.locator("#item-thumb")
    page.wait_for_function("el => el.src.startsWith('blob:')", arg=thumb.element_handle())
    page.screenshot(path=screenshots / "item.png", full_page=True)
    page.keyboard.press("r")
    page.wait_for_function("el => !el.src.startsWith('blob:')", arg=thumb.element_handle())
    # Build a series from the item: type its name, Enter files the item in it.
    page.locator("input[name=new_series]").focus()
    page.keyboard.type("Embankment series")
    with page.expect_navigation():  # the POST, then its redirect back to the item
        page.keyboard.press("Enter")
    assert page.url == f"{base_url}/cases/A-1/items/{sha}"
    page.goto(f"{base_url}/cases/A-1/graph")
    assert page.locator("#graph .group").count() >= 1
    assert page.locator("#graph .person").count() >= 2
    page.screenshot(path=screenshots / "graph.png", full_page=True)
    page.goto(f"{base_url}/cases/A-1/series")
    assert "Embankment series" in page.content() and sha[:16] in page.content()
    page.screenshot(path=screenshots / "series.png", full_page=True)


def test_clear_the_queue_with_the_keys_one_key_grading_a_stack(
    browser: Browser, base_url: str, world: ReviewWorld, screenshots: Path
) -> None:
    page = log_in(browser, base_url, "admin.aa-1")
    cards = page.locator("li.card")
    shas = [cards.nth(i).get_attribute("data-sha256") for i in range(cards.count())]
    files = world.files
    assert shas[0] == files["gps14.jpg"] and current(page) == shas[0]
    page.keyboard.press("1")
    page.wait_for_function("() => document.querySelector('li.card').dataset.grade === 'vics:1'")
    assert current(page) == shas[1]
    # The second card is a stack of two: one key grades both.
    stack = page.locator(f'li.card[data-sha256="{shas[1]}"]')
    assert stack.get_attribute("data-stack") == "2"
    page.keyboard.press("2")
    page.wait_for_function(
        "sha => document.querySelector(`li.card[data-sha256='${sha}']`).dataset.grade === 'vics:2'",
        arg=shas[1],
    )
    pair = {files["pair11-a.jpg"], files["pair11-b.jpg"]}
    assert votes(world, "admin.aa-1") == {files["gps14.jpg"]: "vics:1"} | dict.fromkeys(
        pair, "vics:2"
    )
    page.keyboard.press("u")  # undo: the stack's two votes are withdrawn
    page.wait_for_function(
        "sha => !document.querySelector(`li.card[data-sha256='${sha}']`).dataset.grade",
        arg=shas[1],
    )
    assert current(page) == shas[1]
    assert votes(world, "admin.aa-1") == {files["gps14.jpg"]: "vics:1"}
    page.keyboard.press("Shift+I")  # the rest of the page: ignorable
    page.wait_for_function("() => document.querySelectorAll('li.card.graded').length === 4")
    page.wait_for_function(
        "() => document.getElementById('status').textContent.includes('Queue cleared')"
    )
    page.screenshot(path=screenshots / "queue-graded.png", full_page=True)
    stored = votes(world, "admin.aa-1")
    assert len(stored) == 6  # every item of the case's four stacks
    assert {category for category in stored.values()} == {"vics:1", "ignorable"}
    # A reload shows the grades, and the mark on no graded item.
    page.reload()
    assert page.locator("li.card.graded").count() == 4
    assert page.locator('li.card[aria-current="true"]').count() == 0


def votes(world: ReviewWorld, username: str) -> dict[str, str]:
    """The user's standing votes in the store: SHA-256 -> category."""
    from sqlalchemy import create_engine, select

    from cairn.services.graded import category_text
    from cairn.store.grade_models import Grade

    engine = create_engine(world.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Grade.media_sha256, Grade.scheme, Grade.code).where(
                    Grade.by == username, Grade.retracted_at.is_(None)
                )
            ).all()
    finally:
        engine.dispose()
    return {sha: category_text(scheme, code) for sha, scheme, code in rows}
