"""Draw digits with the mouse on the real canvas in Chromium and see every model's prediction."""
import re

from tests.conftest import ARTIFACTS, wait_for_app

# Strokes in canvas pixels (the canvas is 280 x 280), drawn as a person would.
ONE = [[(140, 40), (140, 240)]]
SEVEN = [[(70, 50), (210, 50), (120, 245)]]
ZERO = [[(140, 40), (190, 60), (210, 140), (190, 220), (140, 245), (90, 220), (70, 140), (90, 60), (140, 40)]]


def draw(page, strokes, steps: int = 12) -> None:
    """Press, drag through the points (interpolated, like a real hand) and release, per stroke."""
    box = page.locator("canvas.upper-canvas").bounding_box()
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
    page.get_by_role("button", name="Reset canvas & history").click()
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
