"""Screenshots of the report charts on a built world, for docs/reports.md.

Serves the configured database (``SHAREGUARD_DATA_DIR`` / ``SHAREGUARD_DATABASE_URL``) on a
free loopback port, signs in as the demo governance officer in Debian's Chromium (Playwright),
and saves each chart of the named report pages as a PNG (``overall``: the overall report,
``/governance/reports``; any other name: that agreement's report):

    python scripts/report-screenshots.py docs/img overall HO-DVLA-001 HO-HMRC-001 HO-NHS-001
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    out, refs = Path(sys.argv[1]), sys.argv[2:]
    out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    exe = Path(sys.executable).with_name("uvicorn")
    server = subprocess.Popen(
        [str(exe), "shareguard.web.app:create_app", "--factory", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            sys.exit("the console did not start within a minute")
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
                headless=True,
            )
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"{base}/sign-in")
            page.fill("#email", "officer@ho.demo.example")
            page.fill("#password", "shareguard-demo")
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/console*")
            for ref in refs:
                path = "" if ref == "overall" else f"/{ref}"
                page.goto(f"{base}/governance/reports{path}", timeout=120_000)
                page.wait_for_selector(".sg-chart svg, .sg-chart canvas", timeout=60_000)
                page.wait_for_timeout(500)
                for i, figure in enumerate(page.locator("figure.sg-chart-figure .sg-chart").all()):
                    figure.screenshot(path=str(out / f"report-{ref.lower()}-{i + 1}.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
