"""The one-off superuser set-up of a PostgreSQL database (``superuser.sql``) and its check."""

from __future__ import annotations

from pathlib import Path

SQL_FILE = Path(__file__).with_name("superuser.sql")
# The built-in functions search conditions use inside indexes under row-level security.
LEAKPROOF_FUNCTIONS = (
    "pg_catalog.textlike(text, text)",
    "pg_catalog.upper(text)",
    "pg_catalog.arraycontains(anyarray, anyarray)",
    "public.guanxi_bigrams(text)",  # created by a migration; not checked before it exists
)


def statements() -> list[str]:
    """The statements of ``superuser.sql`` (comments dropped)."""
    lines = [line for line in SQL_FILE.read_text().splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def missing_leakproof(cursor) -> list[str]:
    """The functions of LEAKPROOF_FUNCTIONS not yet marked leak-proof in the cursor's database."""
    missing = []
    for signature in LEAKPROOF_FUNCTIONS:
        cursor.execute("SELECT proleakproof FROM pg_proc WHERE oid = to_regprocedure(%s)", [signature])
        row = cursor.fetchone()
        if row is None and signature.startswith("public."):
            continue
        if not row or not row[0]:
            missing.append(signature)
    return missing
