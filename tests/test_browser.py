"""The report in a real browser: headless Chromium opens the file offline, runs into no error,
shows the Chinese headings, draws something, and draws every section (Chinese and English).

Console errors are caught by a script the test puts at the top of a copy of the report
(before its Content-Security-Policy, which forbids scripts in the report itself): it records
script errors, failed loads, CSP violations and console.error calls into a `<pre>` that
`--dump-dom` then shows. Two negative controls prove the catcher catches: a broken script
and an image from the internet (blocked by the report's CSP) must both be reported.

Without Chromium the tests skip, unless WH_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from test_report import AS_OF, make_warehouse

from orchestration.report import build_report
from orchestration.report.i18n import STRINGS

WINDOW = (1280, 4000)
CHART_BLUE = (0x00, 0x72, 0xB2)  # svg.PALETTE[0], the fill of bars and the first line
ERROR_SINK = "browser-errors"
CATCHER = f"""<script>
(function () {{
  var errors = [];
  function record(message) {{
    errors.push(String(message));
    var sink = document.getElementById("{ERROR_SINK}");
    if (sink) {{ sink.textContent = errors.join("\\n"); }}
  }}
  window.addEventListener("error", function (event) {{
    var target = event.target || {{}};
    record("error: " + (event.message || target.src || target.href || "resource failed"));
  }}, true);
  window.addEventListener("unhandledrejection", function (event) {{
    record("unhandled rejection: " + event.reason);
  }});
  document.addEventListener("securitypolicyviolation", function (event) {{
    record("csp: " + event.violatedDirective + " " + event.blockedURI);
  }});
  var consoleError = console.error;
  console.error = function () {{
    record("console.error: " + Array.prototype.join.call(arguments, " "));
    return consoleError.apply(console, arguments);
  }};
  document.addEventListener("DOMContentLoaded", function () {{
    var sink = document.createElement("pre");
    sink.id = "{ERROR_SINK}";
    sink.textContent = errors.join("\\n");
    document.body.appendChild(sink);
  }});
}})();
</script>
"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        reason = "chromium is not on PATH (Debian: apt-get install chromium)"
        if os.environ.get("WH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"WH_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("browser")
    database = make_warehouse(folder / "wh.duckdb")
    return {
        language: build_report(
            database, folder / f"report_{language}.html", language, AS_OF
        ).read_text(encoding="utf-8")
        for language in ("zh", "en")
    }


@pytest.fixture(scope="module")
def report_zh(reports) -> str:
    return reports["zh"]


def with_catcher(document: str, *, head_extra: str = "", body_extra: str = "") -> str:
    """The report with the error catcher first in <head> (and optional test content)."""
    head = document.index("<head>") + len("<head>")
    document = document[:head] + "\n" + CATCHER + head_extra + document[head:]
    body = document.index("<body>") + len("<body>")
    return document[:body] + body_extra + document[body:]


def run_chromium(chromium: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def dump_dom(chromium: str, page: Path, tmp_path: Path) -> str:
    result = run_chromium(
        chromium, tmp_path / "profile", "--virtual-time-budget=3000", "--dump-dom", page.as_uri()
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "</html>" in result.stdout, result.stderr[-2000:]
    return result.stdout


def caught_errors(dom: str) -> str:
    match = re.search(rf'<pre id="{ERROR_SINK}">(.*?)</pre>', dom, re.S)
    assert match, "the error catcher did not run"
    return match.group(1).strip()


def decode_png(path: Path) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel and the unfiltered rows of an 8-bit, non-interlaced
    RGB or RGBA PNG (what Chromium writes), with the standard library only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    position, compressed, header = 8, [], None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed.append(body)
        elif kind == b"IEND":
            break
    assert header is not None, "PNG without IHDR"
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    bpp = 3 if colour_type == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(compressed))
    assert len(raw) == height * (stride + 1), "truncated image data"
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + predictor) & 0xFF
        else:
            assert kind == 0, f"unknown PNG filter {kind}"
        rows.append(bytes(line))
        previous = line
    return width, height, bpp, rows


def pixel_counts(rows: list[bytes], bpp: int) -> tuple[int, int, int]:
    """Pixels in all, pixels that are not near-white, pixels of exactly the chart blue."""
    pixels = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(-1, bpp)[:, :3]
    non_white = int((pixels < 235).any(axis=1).sum())
    blue = int((pixels == np.array(CHART_BLUE, dtype=np.uint8)).all(axis=1).sum())
    return len(pixels), non_white, blue


def test_png_decoder_reads_every_filter(tmp_path):
    """The decoder against an image written here with each of the five row filters."""
    width, bpp = 3, 3
    pixels = [bytes([10 * y + x, 50 + x, 200 - y]) for y in range(5) for x in range(width)]
    rows = [b"".join(pixels[y * width : (y + 1) * width]) for y in range(5)]
    encoded, previous = bytearray(), bytes(width * bpp)
    for kind, row in enumerate(rows):
        filtered = bytearray(row)
        for i in range(len(row)):
            a = row[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            p = a + b - c
            paeth = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
            predictor = (0, a, b, (a + b) >> 1, paeth)[kind]
            filtered[i] = (row[i] - predictor) & 0xFF
        encoded += bytes([kind]) + filtered
        previous = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    png = tmp_path / "five_filters.png"
    png.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, 5, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(bytes(encoded)))
        + chunk(b"IEND", b"")
    )
    assert decode_png(png) == (width, 5, bpp, rows)


def test_report_opens_without_errors_in_chinese(chromium, report_zh, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(with_catcher(report_zh), encoding="utf-8")
    dom = dump_dom(chromium, page, tmp_path)
    assert caught_errors(dom) == ""
    assert '<html lang="zh-CN">' in dom
    for key, words in STRINGS.items():
        if key.startswith("sec_"):
            assert f"<h2>{words['zh']}</h2>" in dom, key
    assert "<h2>Retention and churn</h2>" not in dom
    assert dom.count("<svg") == 23


def test_the_error_catcher_catches(chromium, report_zh, tmp_path):
    """Negative controls: a failing script, and an image from the internet, which the
    report's Content-Security-Policy must block before any request is made."""
    page = tmp_path / "broken.html"
    page.write_text(
        with_catcher(
            report_zh,
            head_extra="<script>notDefinedAnywhere();</script>\n",
            body_extra='<img src="https://example.invalid/tracker.png" alt="">',
        ),
        encoding="utf-8",
    )
    errors = caught_errors(dump_dom(chromium, page, tmp_path))
    assert "notDefinedAnywhere" in errors
    assert "csp: img-src https://example.invalid/tracker.png" in errors


def test_screenshot_is_not_blank(chromium, report_zh, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(report_zh, encoding="utf-8")
    shot = tmp_path / "report.png"
    result = run_chromium(chromium, tmp_path / "profile", f"--screenshot={shot}", page.as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    width, height, bpp, rows = decode_png(shot)
    assert (width, height) == WINDOW
    total, non_white, blue = pixel_counts(rows, bpp)
    assert non_white / total > 0.03, f"only {non_white} of {total} pixels are not white"
    assert blue > 2000, f"only {blue} pixels of the chart colour: charts not drawn?"
    header_total, header_ink, _ = pixel_counts(rows[:200], bpp)
    assert header_ink / header_total > 0.01, "the title area is blank"


# ------------------------------------------------------------------ every section

SLOT = 600  # pixels of screen each section gets in the section-by-section screenshot
SECTION = re.compile(r'<section id="([a-z_]+)">.*?</section>', re.S)
# One section per slot of SLOT pixels, from the top of the page: the header, the footer and
# margins out of the way, each section clipped to its slot so its place on the screen is known.
SLOTS_STYLE = f"""<style>
  header, footer {{ display: none !important; }}
  body {{ padding: 0 32px !important; }}
  main > section {{ height: {SLOT}px; overflow: hidden; margin: 0; }}
  main > section > h2 {{ margin: 0 0 12px; height: 40px; }}
</style>
"""


def section_texts(document: str) -> dict[str, str]:
    """Each section's visible text after its heading, by section id."""
    texts = {}
    for match in SECTION.finditer(document):
        body = re.sub(r"<h2>.*?</h2>", " ", match.group(0), count=1, flags=re.S)
        body = re.sub(r"<svg.*?</svg>", " [chart] ", body, flags=re.S)
        texts[match.group(1)] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
    return texts


def section_ink(chromium: str, document: str, tmp_path: Path) -> dict[str, float]:
    """The share of non-white pixels below the heading in each section's slot of a screenshot
    of the report laid out one section per slot."""
    ids = [match.group(1) for match in SECTION.finditer(document)]
    head_end = document.index("</head>")
    page = tmp_path / "sections.html"
    page.write_text(document[:head_end] + SLOTS_STYLE + document[head_end:], encoding="utf-8")
    shot = tmp_path / "sections.png"
    result = subprocess.run(
        [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={WINDOW[0]},{SLOT * len(ids)}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    width, height, bpp, rows = decode_png(shot)
    assert height == SLOT * len(ids), (width, height)
    ink = {}
    for index, section_id in enumerate(ids):
        body = rows[index * SLOT + 52 : (index + 1) * SLOT]  # below the heading's rule
        total, non_white, _ = pixel_counts(body, bpp)
        ink[section_id] = non_white / total
    return ink


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_section_is_drawn_and_has_content(chromium, reports, language, tmp_path):
    document = reports[language]
    texts = section_texts(document)
    assert len(texts) == sum(1 for key in STRINGS if key.startswith("sec_")), sorted(texts)
    for section_id, body in texts.items():
        assert len(body) >= 20, (section_id, body)
    ink = section_ink(chromium, document, tmp_path)
    assert set(ink) == set(texts)
    for section_id, share in ink.items():
        assert share > 0.004, f"section {section_id} ({language}) looks blank: {share:.4%} ink"


def test_a_blank_section_is_caught(chromium, reports, tmp_path):
    """Negative control: a section emptied of everything but its heading fails the check."""
    document = re.sub(
        r'(<section id="indices">\s*<h2>.*?</h2>).*?(</section>)',
        r"\1\2",
        reports["en"],
        count=1,
        flags=re.S,
    )
    assert section_texts(document)["indices"] == ""
    ink = section_ink(chromium, document, tmp_path)
    assert ink["indices"] < 0.004 < ink["management"], ink
