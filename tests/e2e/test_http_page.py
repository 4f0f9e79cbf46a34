"""The run page in a real browser: headless Chromium opens `/view` through the local host,
renders the chart and the timeline, and runs none of the markup hidden in the run's data."""

import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.fault_helpers import unique
from tests.e2e.stack import FUNCTION_KEY, Stack
from tests.e2e.test_http_api import seed_failed_run

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(module_stack: Stack) -> Stack:
    """Both tests seed a run of their own name and open its page: one host for both."""
    return module_stack


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EVIL = '<script>document.title="pwned"</script><img src=x onerror="document.title=1">'
TRAIN_BLUE, VALID_ORANGE = (0x1F, 0x6F, 0xEB), (0xD9, 0x48, 0x0F)  # the chart's stroke colours
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed here (.ci/install-chromium.sh installs it)",
)


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


def png_colours(data: bytes) -> Counter[tuple[int, ...]]:
    """How many pixels of each RGB colour an 8-bit, non-interlaced RGB(A) PNG holds."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    position, compressed, header = 8, [], b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        header = body if kind == b"IHDR" else header
        compressed += [body] if kind == b"IDAT" else []
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b"".join(compressed)), width * channels
    counts: Counter[tuple[int, ...]] = Counter()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride) if kind else ():
            left = row[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 255
            elif kind == 2:
                row[i] = (row[i] + up) & 255
            elif kind == 3:
                row[i] = (row[i] + ((left + up) >> 1)) & 255
            else:  # Paeth: the neighbour closest to left + up - corner
                guess = left + up - corner
                near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up),
                           (abs(guess - corner), 2, corner))  # fmt: skip
                row[i] = (row[i] + near[2]) & 255
        counts.update(bytes(row[x : x + 3]) for x in range(0, stride, channels))
        previous = row
    return Counter({tuple(colour): n for colour, n in counts.items()})


@needs_chromium
def test_the_run_page_renders_its_chart_and_timeline_in_chromium(
    stack: Stack, tmp_path: Path
) -> None:
    run = seed_failed_run(stack, unique("shown"), text=EVIL)
    url = f"{stack.host.url}/api/runs/{run}/view?code={FUNCTION_KEY}"

    dom = chromium(tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="loss-chart"' in html
    assert 'id="train-loss"' in html and 'id="valid-loss"' in html and 'id="best-valid"' in html
    assert html.count('class="timeline-entry') == 2
    assert 'data-ready="with-key"' in html  # the page's own script ran under its CSP
    assert "waiting_for_files → failed" in html
    # The run's text arrives as text: no element came from it and its script did not run.
    assert "&lt;script&gt;document.title=" in html
    assert '<img src="x"' not in html and "<title>Tunedrop run" in html
    assert "pwned" not in html.split("</title>")[0]

    screenshot = tmp_path / "run-page.png"
    shot = chromium(
        tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1200,1600", url
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    colours = png_colours(screenshot.read_bytes())
    # Both curves are drawn in their own colours, and the page is more than a blank background.
    assert colours[TRAIN_BLUE] > 200 and colours[VALID_ORANGE] > 200, colours.most_common(5)
    assert sum(n for colour, n in colours.items() if max(colour) < 80) > 5_000  # dark text


@needs_chromium
def test_the_page_without_the_key_in_its_address_is_refused(stack: Stack, tmp_path: Path) -> None:
    run = seed_failed_run(stack, unique("locked"))
    dom = chromium(tmp_path / "profile", "--dump-dom", f"{stack.host.url}/api/runs/{run}/view")
    assert dom.returncode == 0
    assert "loss-chart" not in dom.stdout
