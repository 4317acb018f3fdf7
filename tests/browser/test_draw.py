"""Draw digits on the real pad in Chromium: with the mouse (every model's prediction, answers that
change while the pen is still down, Undo and Clear) and with a finger on a phone (touch strokes
starting in each corner reach the pad, and the page does not scroll under them)."""
import re
import time

from tests.conftest import ARTIFACTS, wait_for_app

# Strokes in canvas pixels (the canvas is 280 x 280), drawn as a person would.
ONE = [[(140, 40), (140, 240)]]
SEVEN = [[(70, 50), (210, 50), (120, 245)]]
ZERO = [[(140, 40), (190, 60), (210, 140), (190, 220), (140, 245), (90, 220), (70, 140), (90, 60), (140, 40)]]


def draw(page, strokes, steps: int = 12) -> None:
    """Press, drag through the points (interpolated, like a real hand) and release, per stroke."""
    box = page.locator("canvas.pad-canvas").bounding_box()
    for points in strokes:
        x0, y0 = points[0]
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        for (xa, ya), (xb, yb) in zip(points, points[1:]):
            for k in range(1, steps + 1):
                page.mouse.move(box["x"] + xa + (xb - xa) * k / steps, box["y"] + ya + (yb - ya) * k / steps)
        page.mouse.up()


def predictions(page) -> dict[str, str]:
    """Model name -> predicted digit, read from the page's metrics."""
    out = {}
    for metric in page.locator('[data-testid="stMetric"]').all():
        label = metric.locator('[data-testid="stMetricLabel"]').inner_text()
        value = metric.locator('[data-testid="stMetricValue"]').inner_text()
        out[label.split(" (")[0].strip()] = value.strip()
    return out


def wait_for_prediction(page, timeout: float = 90_000) -> dict[str, str]:
    page.wait_for_selector('[data-testid="stMetric"]', timeout=timeout)
    wait_for_app(page)
    return predictions(page)


def clear(page) -> None:
    page.get_by_role("button", name="Clear", exact=True).click()
    page.get_by_text("The canvas is empty").wait_for(timeout=60_000)
    page.locator('[data-testid="stMetric"]').first.wait_for(state="detached", timeout=60_000)  # old run's


def test_drawing_digits_with_the_mouse_gets_predictions(page):
    page.goto(page.app_url)  # from the home page, as a user does (a deep link logs 404 probes)
    wait_for_app(page)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Draw").click()
    page.get_by_text("The canvas is empty").wait_for(timeout=60_000)
    for name, strokes, digit in [("one", ONE, "1"), ("seven", SEVEN, "7"), ("zero", ZERO, "0")]:
        draw(page, strokes)
        got = wait_for_prediction(page)
        assert got, "no prediction shown"
        assert all(re.fullmatch(r"\d", v) for v in got.values()), got
        # most models read the hand-drawn digit right
        assert sum(v == digit for v in got.values()) >= (len(got) + 1) // 2, (name, got)
        # the stroke step: the page's 20 px pen on a digit this size is thinner than MNIST's strokes
        step = page.get_by_text(re.compile(r"^Pen (thickened|thinned) from ~\d\.\d px to ~\d\.\d px"))
        step.wait_for(timeout=30_000)
        assert "MNIST" in step.inner_text()
        page.get_by_text("Which rows mattered").wait_for()
        page.screenshot(path=ARTIFACTS / f"draw_{name}.png")
        if name == "seven":  # the figures further down (the page scrolls inside its main section)
            page.get_by_text("The prediction after every row").scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / "draw_seven_rows.png")
            page.get_by_text("Look inside").scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / "draw_seven_attribution.png")
        clear(page)
        assert not page.locator('[data-testid="stMetric"]').count()
    assert not page.console_errors, page.console_errors


def answers(page) -> list[str]:
    return [v.strip() for v in page.locator('[data-testid="stMetricValue"]').all_inner_texts()]


def test_answers_change_while_the_pen_is_down(page):
    """Draw the top bar of a 7 and hold the pen: the models answer (not 7: a bar alone reads as
    a 2 or a 4); go on down the diagonal, still holding: the answers become 7; only then lift
    the pen, and the figures follow."""
    page.goto(page.app_url + "/Draw")
    page.get_by_text("The canvas is empty").wait_for(timeout=60_000)
    box = page.locator("canvas.pad-canvas").bounding_box()
    at = lambda x, y: (box["x"] + x, box["y"] + y)  # noqa: E731
    page.mouse.move(*at(70, 50))
    page.mouse.down()
    for k in range(1, 15):  # the bar, at a hand's pace
        page.mouse.move(*at(70 + 10 * k, 50))
        time.sleep(0.03)
    deadline = time.time() + 30
    while not answers(page) and time.time() < deadline:  # the pen is still down
        page.mouse.move(*at(210, 50 + (time.time() * 10 % 2)))  # a hand is never quite still
        time.sleep(0.05)
    first = answers(page)
    assert first and sum(v == "7" for v in first) * 2 < len(first), first  # a bar is no 7 yet
    assert not page.get_by_text("Which rows mattered").count()  # the figures wait for pen-up
    for k in range(1, 11):  # down the diagonal, the pen still down
        page.mouse.move(*at(210 - 9 * k, 50 + 19.5 * k))
        time.sleep(0.03)
    deadline = time.time() + 30
    while sum(v == "7" for v in answers(page)) * 2 <= len(answers(page)) and time.time() < deadline:
        page.mouse.move(*at(120, 245 - (time.time() * 10 % 2)))
        time.sleep(0.05)
    during = answers(page)
    assert sum(v == "7" for v in during) * 2 > len(during), (first, during)
    page.screenshot(path=ARTIFACTS / "draw_live.png")
    page.mouse.up()
    page.get_by_text("Which rows mattered").wait_for(timeout=60_000)  # the figures, at pen-up
    wait_for_app(page)
    assert sum(v == "7" for v in predictions(page).values()) >= 3
    page.get_by_role("button", name="Undo", exact=True).click()  # the only stroke taken back: empty again
    page.get_by_text("The canvas is empty").wait_for(timeout=60_000)
    assert not page.console_errors, page.console_errors


def test_touch_strokes_from_every_corner_on_a_phone(browser, app_url):
    """A phone (390 x 844, touch): Clear and Undo are on screen, not hidden in a hover toolbar,
    and a finger stroke starting in any corner of the pad is drawn (the drawing then touches
    the edge, which the page says), without scrolling the page."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(app_url + "/Draw")
        page.get_by_text("The canvas is empty").wait_for(timeout=60_000)
        pad = page.locator("canvas.pad-canvas")
        pad.scroll_into_view_if_needed()
        for name in ("Undo", "Clear"):
            button = page.get_by_role("button", name=name)
            assert button.is_visible()
            b = button.bounding_box()
            assert b["x"] >= 0 and b["x"] + b["width"] <= 390 and b["height"] >= 30, (name, b)
        cdp = context.new_cdp_session(page)
        for corner in [(3, 3), (277, 3), (3, 277), (277, 277)]:
            box = pad.bounding_box()
            scale = box["width"] / 280
            to = lambda x, y: {"x": box["x"] + x * scale, "y": box["y"] + y * scale, "id": 1}  # noqa: E731
            cx, cy = corner
            cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [to(cx, cy)]})
            for k in range(1, 21):  # towards the middle
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                    to(cx + (140 - cx) * k / 20, cy + (140 - cy) * k / 20)]})
                time.sleep(0.02)
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
            page.get_by_text("touches the edge of the canvas").wait_for(timeout=60_000)
            wait_for_app(page)
            assert page.locator('[data-testid="stMetric"]').count(), corner
            assert pad.bounding_box()["y"] == box["y"], f"the page scrolled under a stroke from {corner}"
            if corner == (3, 3):
                page.screenshot(path=ARTIFACTS / "draw_phone.png", full_page=False)
            page.get_by_role("button", name="Clear", exact=True).tap()
            page.get_by_text("The canvas is empty").wait_for(timeout=60_000)
            wait_for_app(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert not errors, errors
    finally:
        context.close()
