"""Take the README screenshot (docs/screenshot.png) of a running demo with Debian's Chromium.

./bin/run &                      # the demo on http://127.0.0.1:8000/
.venv/bin/python scripts/screenshot.py [--url http://127.0.0.1:8000] [--path /customers/accounts/]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--path", default="/customers/accounts/", help="page to show")
    parser.add_argument("--email", default="admin@huaxin.example", help="demo login")
    parser.add_argument("--password", default="guanxi-demo-2026")
    parser.add_argument("--language", default="en", choices=["en", "zh-hans"])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    args = parser.parse_args()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1366, "height": 820},
            locale="en-US" if args.language == "en" else "zh-CN",
            timezone_id="Asia/Shanghai",
        )
        page = context.new_page()
        page.goto(f"{args.url}/login/")
        page.fill("input[name=username]", args.email)
        page.fill("input[name=password]", args.password)
        page.click("form button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        page.goto(f"{args.url}{args.path}")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=args.out)
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
