"""A dry run whose worker was killed does not stay "checking" forever: it is restarted, or given up with a message."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.customers.models import Contact
from guanxi.imports import engine, services, tasks
from guanxi.imports.models import ImportJob, ImportRow
from guanxi.platform.context import tenant_context

from .test_imports import csv_bytes, upload

pytestmark = pytest.mark.django_db
Status = ImportJob.Status
ORIGINAL_PREPARE = engine.Run.prepare


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


class WorkerKilled(BaseException):
    """What the worker process sees when it is killed in the middle of a chunk (nothing after it runs)."""


def people(n: int) -> bytes:
    return csv_bytes([["姓名", "公司", "手机"], *[[f"客户{i}", f"公司{i % 3}", f"1380000{i:04d}"] for i in range(n)]])


def mapped_job(tenant, n=25) -> ImportJob:
    with tenant_context(tenant, actor=tenant.admin):
        job = services.job_create(actor=tenant.admin, entity="customers.contact", upload=upload("p.csv", people(n)))
        return services.job_map(actor=tenant.admin, job=job, mapping=job.mapping, options={})


def reload(tenant, job) -> ImportJob:
    with tenant_context(tenant):
        return ImportJob.objects.get(pk=job.pk)


def age_heartbeat(tenant, job, minutes=30) -> None:
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=minutes))


def kill_preview_after_first_chunk(monkeypatch) -> None:
    monkeypatch.setattr(engine, "CHUNK_SIZE", 10)
    original = engine.Run.prepare
    calls = {"n": 0}

    def prepare(self, chunk):
        calls["n"] += 1
        if calls["n"] == 2:
            raise WorkerKilled
        return original(self, chunk)

    monkeypatch.setattr(engine.Run, "prepare", prepare)


def test_a_killed_dry_run_is_restarted_from_the_first_row_and_writes_nothing(tenant, monkeypatch):
    job = mapped_job(tenant)
    kill_preview_after_first_chunk(monkeypatch)
    with tenant_context(tenant, actor=tenant.admin):
        job = services.job_preview(actor=tenant.admin, job=job)
    # The worker died after the first chunk: the job says "checking", 10 rows, with a heartbeat.
    assert job.status == Status.PREVIEWING and job.preview["processed"] == 10
    assert job.heartbeat_at is not None and job.preview_attempts == 1
    dead_token = job.run_token
    assert not job.preview_stalled

    # Not stale yet: the sweeper leaves it alone.
    assert tasks.resume_stale_imports.enqueue().return_value == {}
    assert reload(tenant, job).run_token == dead_token

    # No heartbeat for longer than STALE_AFTER: restarted from the first row under a new token.
    age_heartbeat(tenant, job)
    assert reload(tenant, job).preview_stalled
    monkeypatch.setattr(engine.Run, "prepare", ORIGINAL_PREPARE)  # the next worker is not killed
    assert tasks.resume_stale_imports.enqueue().return_value == {tenant.slug: 1}
    job = reload(tenant, job)
    assert job.status == Status.PREVIEWED, job.preview
    assert job.run_token != dead_token and job.preview_attempts == 2
    assert job.preview["done"] and job.preview["processed"] == 25 and job.total_rows == 25
    assert job.preview["counts"] == {"created": 25, "updated": 0, "skipped": 0, "failed": 0}
    with tenant_context(tenant):
        assert Contact.objects.count() == 0 and ImportRow.objects.count() == 0  # a dry run writes nothing

    # The killed worker's token is dead: if it was only slow, it stops at its next chunk without writing.
    with tenant_context(tenant, actor=tenant.admin), pytest.raises(engine.Lost):
        engine.preview(job, dead_token)
    assert tasks.preview_import.enqueue(tenant.pk, job.pk, dead_token).return_value == "skipped"

    # The import itself then runs as usual.
    with tenant_context(tenant, actor=tenant.admin):
        job = services.job_start(actor=tenant.admin, job=job)
        assert job.status == Status.DONE and Contact.objects.count() == 25


def test_a_waiting_or_beating_dry_run_is_left_alone(tenant):
    job = mapped_job(tenant)
    with tenant_context(tenant):
        # Queued, no worker took it yet: no heartbeat. The queue keeps the task; the sweeper does not touch it.
        ImportJob.objects.filter(pk=job.pk).update(status=Status.PREVIEWING, run_token="queued", heartbeat_at=None)
    assert tasks.resume_stale_imports.enqueue().return_value == {}
    job = reload(tenant, job)
    assert job.status == Status.PREVIEWING and job.run_token == "queued" and job.preview_waiting
    with tenant_context(tenant):
        # A worker is on it and beating.
        ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(seconds=30))
    assert tasks.resume_stale_imports.enqueue().return_value == {}
    assert reload(tenant, job).run_token == "queued"
    # The queued task, when a worker takes it, claims it once; a duplicate of it finds it taken.
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=None)
    assert tasks.preview_import.enqueue(tenant.pk, job.pk, "queued").return_value == "done"
    assert reload(tenant, job).status == Status.PREVIEWED
    assert tasks.preview_import.enqueue(tenant.pk, job.pk, "queued").return_value == "skipped"


def test_a_dry_run_that_keeps_dying_is_given_up_with_a_message_and_can_be_run_again(tenant, client, monkeypatch):
    job = mapped_job(tenant)
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job.pk).update(
            status=Status.PREVIEWING,
            run_token="dead",
            heartbeat_at=timezone.now() - datetime.timedelta(hours=1),
            preview={"processed": 20},
            preview_attempts=services.PREVIEW_MAX_ATTEMPTS,
        )
    assert tasks.resume_stale_imports.enqueue().return_value == {}
    job = reload(tenant, job)
    assert job.status == Status.MAPPED and job.run_token == "" and job.preview == {"stalled": 3}
    assert "stopped before the end" in job.preview_error

    client.force_login(tenant.admin)
    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert 'data-testid="preview-error"' in page and "Run the preview again" in page
    zh = client.get(reverse("imports:detail", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Checking the file stopped" not in zh and "重新运行预览" in zh

    body = client.get(f"/api/v1/imports/{job.pk}").json()
    assert body["status"] == "mapped" and "stopped before the end" in body["preview"]["error"]
    assert body["preview_stalled"] is False

    response = client.post(reverse("imports:check", args=[job.pk]))
    assert response.status_code == 302
    job = reload(tenant, job)
    assert job.status == Status.PREVIEWED and job.preview_attempts == 1 and job.preview_error == ""


def test_progress_shows_waiting_and_stalled_dry_runs_and_offers_to_run_it_again(tenant, client):
    job = mapped_job(tenant)
    client.force_login(tenant.admin)
    progress = reverse("imports:progress", args=[job.pk])
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job.pk).update(status=Status.PREVIEWING, run_token="t", heartbeat_at=None)
    html = client.get(progress).content.decode()
    assert "Waiting for a worker" in html and "preview-stalled" not in html
    age_heartbeat(tenant, job)
    html = client.get(progress).content.decode()
    assert 'data-testid="preview-stalled"' in html and 'data-testid="preview-again"' in html
    assert reverse("imports:check", args=[job.pk]) in html
    assert client.get(f"/api/v1/imports/{job.pk}").json()["preview_stalled"] is True


def test_api_runs_the_preview_again(tenant, client, other_tenant):
    job = mapped_job(tenant)
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job.pk).update(status=Status.MAPPED, preview={"stalled": 3})
    client.force_login(other_tenant.admin)
    assert client.post(f"/api/v1/imports/{job.pk}/preview").status_code == 404
    client.force_login(tenant.admin)
    response = client.post(f"/api/v1/imports/{job.pk}/preview")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "previewed" and body["preview"]["counts"]["created"] == 25
    assert body["preview"]["error"] is None
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job.pk).update(status=Status.RUNNING)
    response = client.post(f"/api/v1/imports/{job.pk}/preview")
    assert response.status_code == 422
