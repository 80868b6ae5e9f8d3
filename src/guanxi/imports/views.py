"""Pages of the import: upload, column mapping, dry-run preview, live progress, result, history.

Thin views: they parse input, call a service or selector of this app and render.
"""

from __future__ import annotations

import itertools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from guanxi.access import permissions

from . import engine, readers, selectors, services, specs
from .models import ImportJob, ImportRow

SAMPLE_ROWS = 5
POLICY_CHOICES = [
    ("skip", gettext_lazy("Skip the row (keep the existing record as it is)")),
    ("update", gettext_lazy("Update the existing record with the row's values")),
    ("create", gettext_lazy("Create a new record anyway")),
]


def _errors(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [m for messages_ in exc.message_dict.values() for m in messages_]
    return list(exc.messages)


def _flash(request, exc: ValidationError) -> None:
    for message in _errors(exc):
        messages.error(request, message)


@login_required
@require_GET
def import_list(request):
    specs_ = services.importable_specs(request.user)
    if not specs_ and not permissions.is_tenant_admin(request.user):
        raise PermissionDenied
    jobs = list(selectors.jobs_for(request.user)[:100])
    labels = {s.entity_key: s.label for s in specs.all_specs()}
    for job in jobs:
        job.entity_label = labels.get(job.entity, job.entity)
    return render(request, "imports/import_list.html", {"jobs": jobs, "specs": specs_})


@login_required
def import_new(request):
    specs_ = services.importable_specs(request.user)
    if not specs_:
        raise PermissionDenied
    entity = request.POST.get("entity") or request.GET.get("entity") or specs_[0].entity_key
    errors: list[str] = []
    if request.method == "POST":
        try:
            job = services.job_create(actor=request.user, entity=entity, upload=request.FILES.get("file"))
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            return redirect("imports:mapping", pk=job.pk)
    return render(
        request,
        "imports/import_new.html",
        {"specs": specs_, "entity": entity, "errors": errors, "formats": ".csv,.txt,.tsv,.xlsx,.xlsm,.vcf,.vcard"},
    )


def _samples(job: ImportJob) -> list[list[str]]:
    try:
        with engine.open_job_source(job) as source:
            rows = [cells for _n, cells in itertools.islice(source.rows(), SAMPLE_ROWS)]
    except (readers.FileProblem, UnicodeDecodeError, OSError):
        return []
    return [[readers.cell_text(c) for c in row] for row in rows]


def _mapping_from_post(request, job: ImportJob) -> dict[str, str]:
    return {str(i): request.POST.get(f"col_{i}", "") for i in range(len(job.header))}


def _options_from_post(request) -> dict:
    return {
        "policy": request.POST.get("policy", "skip"),
        "rules": request.POST.getlist("rules"),
        "create_related": request.POST.get("create_related") == "on",
        "phone_region": request.POST.get("phone_region", ""),
        "day_first": request.POST.get("day_first") == "on",
    }


@login_required
def import_mapping(request, pk):
    job = selectors.job_for(request.user, pk)
    spec = services.require_import(request.user, job.entity)
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.MAPPED, ImportJob.Status.PREVIEWED):
        return redirect("imports:detail", pk=job.pk)
    errors: list[str] = []
    mapping, options = dict(job.mapping), dict(job.options)
    if request.method == "POST":
        action = request.POST.get("action", "check")
        try:
            if action == "reformat":
                services.job_set_format(
                    actor=request.user,
                    job=job,
                    encoding=request.POST.get("encoding", ""),
                    delimiter=request.POST.get("delimiter", ""),
                    sheet=request.POST.get("sheet", ""),
                )
                return redirect("imports:mapping", pk=job.pk)
            if action == "apply_saved":
                saved = selectors.saved_mappings(job.entity).filter(pk=request.POST.get("saved") or 0).first()
                if saved is None:
                    raise Http404
                mapping = specs.guess_mapping(job.header, spec.targets(), saved.columns)
                options = {**options, **(saved.options or {})}
            else:
                mapping, options = _mapping_from_post(request, job), _options_from_post(request)
                services.job_map(actor=request.user, job=job, mapping=mapping, options=options)
                if request.POST.get("save_as", "").strip():
                    services.mapping_save(actor=request.user, job=job, name=request.POST["save_as"])
                services.job_preview(actor=request.user, job=job)
                return redirect("imports:detail", pk=job.pk)
        except ValidationError as exc:
            errors = _errors(exc)
    samples = _samples(job)
    targets = spec.targets()
    columns = [
        {
            "index": i,
            "name": name,
            "target": mapping.get(str(i), ""),
            "samples": [row[i] for row in samples if i < len(row) and row[i]][:3],
        }
        for i, name in enumerate(job.header)
    ]
    sheets = []
    if job.format == "xlsx":
        try:
            with job.file.open("rb") as f:
                sheets = readers.xlsx_sheets(f)
        except Exception:
            sheets = []
    required = [k for group in spec.required for k in group]
    context = {
        "job": job,
        "spec": spec,
        "columns": columns,
        "targets": targets,
        "required_targets": required,
        "unmapped_required_custom": [
            tg
            for tg in targets
            if tg.definition is not None and tg.definition.required and tg.key not in mapping.values()
        ],
        "options": options,
        "policies": POLICY_CHOICES,
        "rules": spec.rules,
        "encodings": readers.ENCODINGS,
        "delimiters": [(",", _("Comma ,")), (";", _("Semicolon ;")), ("\t", _("Tab")), ("|", _("Pipe |"))],
        "sheets": sheets,
        "saved": list(selectors.saved_mappings(job.entity)),
        "errors": errors,
        "has_relation": any(tg.kind == specs.RELATION and tg.key == "account" for tg in targets),
    }
    return render(request, "imports/import_mapping.html", context)


def _detail_context(request, job: ImportJob) -> dict:
    spec = specs.get(job.entity)
    preview = job.preview or {}
    rows = preview.get("rows") or []
    for row in rows:
        row["cell_list"] = [
            {"value": value, "problem": row.get("problems", {}).get(str(i), "")} for i, value in enumerate(row["cells"])
        ]
    mapped = {int(i) for i in job.mapping}
    return {
        "job": job,
        "spec": spec,
        "preview": preview,
        "preview_rows": rows,
        "mapped_columns": mapped,
        "header": [{"name": h, "mapped": i in mapped} for i, h in enumerate(job.header)],
        "skipped_rows": (
            ImportRow.objects.filter(job=job, action=ImportRow.Action.SKIPPED).order_by("row_number")[:20]
            if job.status in (ImportJob.Status.DONE, ImportJob.Status.CANCELLED, ImportJob.Status.FAILED)
            else []
        ),
        "failed_rows": (
            ImportRow.objects.filter(job=job, action=ImportRow.Action.FAILED).order_by("row_number")[:20]
            if job.status in (ImportJob.Status.DONE, ImportJob.Status.CANCELLED, ImportJob.Status.FAILED)
            else []
        ),
    }


@login_required
@require_GET
def import_detail(request, pk):
    job = selectors.job_for(request.user, pk)
    services.require_import(request.user, job.entity)
    return render(request, "imports/import_detail.html", _detail_context(request, job))


@login_required
@require_GET
def import_progress(request, pk):
    """The live progress fragment (htmx polls it); reloads the page when the job's state changes."""
    job = selectors.job_for(request.user, pk)
    services.require_import(request.user, job.entity)
    if request.GET.get("status") and request.GET["status"] != job.status:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "imports/_progress.html", {"job": job})


def _post_action(request, pk, service, done_message):
    job = selectors.job_for(request.user, pk)
    try:
        service(actor=request.user, job=job)
    except ValidationError as exc:
        _flash(request, exc)
    else:
        if done_message:
            messages.success(request, done_message)
    return redirect("imports:detail", pk=job.pk)


@login_required
@require_POST
def import_check(request, pk):
    return _post_action(request, pk, services.job_preview, "")


@login_required
@require_POST
def import_start(request, pk):
    return _post_action(request, pk, services.job_start, _("The import has started."))


@login_required
@require_POST
def import_cancel(request, pk):
    return _post_action(request, pk, services.job_cancel, _("The import was cancelled."))


@login_required
@require_POST
def import_undo(request, pk):
    return _post_action(request, pk, services.job_undo, _("The import is being undone."))


@login_required
@require_GET
def import_errors(request, pk):
    job = selectors.job_for(request.user, pk)
    services.require_import(request.user, job.entity)
    if not job.error_file:
        raise Http404
    from django.core.files.storage import default_storage

    name = job.error_file.rsplit("/", 1)[-1]
    return FileResponse(default_storage.open(job.error_file, "rb"), as_attachment=True, filename=name)
