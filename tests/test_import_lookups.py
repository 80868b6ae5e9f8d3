"""De-duplication look-ups run with bitmap scans off on PostgreSQL (the trigram indexes answer ``=``
too, one scan per key: 8.5 s per look-up of 5,000 keys on a young tenant's statistics)."""

import pytest
from django.db import connection

from guanxi.imports import fastwrite


def _bitmapscan() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_bitmapscan")
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL planner setting")
@pytest.mark.django_db
def test_exact_lookups_turn_bitmap_scans_off_for_the_block_only():
    assert _bitmapscan() == "on"
    with fastwrite.exact_lookups():
        assert _bitmapscan() == "off"
    assert _bitmapscan() == "on"
    with pytest.raises(RuntimeError), fastwrite.exact_lookups():
        raise RuntimeError
    assert _bitmapscan() == "on"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL planner setting")
@pytest.mark.django_db
def test_the_import_looks_duplicates_up_with_bitmap_scans_off(tenant, monkeypatch, settings, tmp_path):
    from guanxi.imports import specs
    from tests.test_imports import csv_bytes, run_import, upload

    settings.MEDIA_ROOT = tmp_path / "media"
    seen = []
    for rule in specs.get("customers.contact").rules:

        def spy(keys, original=rule.lookup):
            seen.append(_bitmapscan())
            return original(keys)

        monkeypatch.setattr(rule, "lookup", spy)
    content = csv_bytes([["姓名", "邮箱"], ["王伟", "wang.wei@example.com"], ["李娜", "li.na@example.com"]])
    job = run_import(tenant, tenant.admin, "customers.contact", upload("p.csv", content), preview=False)
    assert job.created == 2
    assert seen and set(seen) == {"off"}
    assert _bitmapscan() == "on"
