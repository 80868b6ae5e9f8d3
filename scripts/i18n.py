#!/usr/bin/env python
"""Extract and compile the translations of Guanxi CRM.

Every app keeps its own catalogue in ``src/guanxi/<app>/locale/zh_Hans/LC_MESSAGES/django.po``
(so apps can be translated independently); the project templates in ``src/guanxi/templates``
go to ``src/guanxi/locale``. Source strings are English; zh-Hans must be complete.

    .venv/bin/python scripts/i18n.py extract     # update every .po from the code
    .venv/bin/python scripts/i18n.py compile     # .po → .mo (needs GNU gettext's msgfmt)
    .venv/bin/python scripts/i18n.py check       # fail if any zh-Hans message is untranslated or fuzzy
"""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "guanxi"
LOCALE = "zh_Hans"
PYTHON = sys.executable


def app_dirs() -> list[pathlib.Path]:
    return sorted(p.parent for p in SRC.glob("*/apps.py"))


def django_admin(args: list[str], cwd: pathlib.Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "guanxi.config.settings",
        "DEBUG": "1",
        "PYTHONPATH": str(ROOT / "src"),
    }
    # -P: the app directory must not shadow the standard library (apps have selectors.py)
    subprocess.run([PYTHON, "-P", "-m", "django", *args], cwd=cwd, env=env, check=True)


def extract() -> None:
    for app in app_dirs():
        (app / "locale").mkdir(exist_ok=True)
        django_admin(["makemessages", "-l", LOCALE, "--no-location", "--ignore=migrations/*", "-v0"], app)
    # Project templates (base layout, shared components): everything under src/guanxi that is no app.
    ignores = [f"--ignore={app.name}/*" for app in app_dirs()]
    (SRC / "locale").mkdir(exist_ok=True)
    django_admin(["makemessages", "-l", LOCALE, "--no-location", *ignores, "-v0"], SRC)


def catalogues() -> list[pathlib.Path]:
    return sorted(SRC.glob(f"**/locale/{LOCALE}/LC_MESSAGES/django.po"))


def compile_() -> None:
    for po in catalogues():
        subprocess.run(["msgfmt", "--check-format", "-o", str(po.with_suffix(".mo")), str(po)], check=True)


def check() -> int:
    import polib  # a dev dependency, imported only when checking

    problems = 0
    for po in catalogues():
        catalogue = polib.pofile(str(po))
        missing = [e.msgid for e in catalogue if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
        if missing:
            problems += len(missing)
            print(f"{po.relative_to(ROOT)}: {len(missing)} untranslated, e.g. {missing[:3]}")
    return 1 if problems else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "extract"
    if command == "extract":
        extract()
    elif command == "compile":
        compile_()
    elif command == "check":
        sys.exit(check())
    else:
        sys.exit(__doc__)
