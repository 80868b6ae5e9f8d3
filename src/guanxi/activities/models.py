"""Activities (notes, calls, meetings, tasks, emails), follow-up plans, reminders, notifications."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.platform.models import OwnedModel, TenantModel

KIND_ICONS = {
    "note": "journal-text",
    "call": "telephone",
    "meeting": "people",
    "task": "check2-square",
    "email": "envelope",
}


class Activity(OwnedModel):
    """One item of a customer's timeline. The owner is the person responsible for it."""

    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")
        TASK = "task", _("Task")
        EMAIL = "email", pgettext_lazy("activity type", "Email")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")

    class Outcome(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        NO_ANSWER = "no_answer", _("No answer")
        LEFT_MESSAGE = "left_message", _("Left a message")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        INTERESTED = "interested", _("Interested")
        NOT_INTERESTED = "not_interested", _("Not interested")
        FOLLOW_UP = "follow_up", _("Needs follow-up")
        COMPLETED = "completed", _("Completed")

    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.NOTE)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DONE)
    starts_at = models.DateTimeField(
        _("when"), default=timezone.now, help_text=_("Due time of a task or start of a meeting.")
    )
    ends_at = models.DateTimeField(pgettext_lazy("end time", "until"), null=True, blank=True)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    location = models.CharField(_("location"), max_length=200, blank=True)
    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("account"),
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("contact"),
    )
    # Any other record the activity is about (an opportunity, a ticket …), for its own timeline.
    regarding_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    regarding_id = models.BigIntegerField(null=True, blank=True)
    reminder_at = models.DateTimeField(_("remind me at"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True, editable=False)
    plan_step = models.ForeignKey(
        "FollowUpStep", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["tenant", "account", "-starts_at"]),
            models.Index(fields=["tenant", "contact", "-starts_at"]),
            models.Index(fields=["tenant", "regarding_type", "regarding_id", "-starts_at"]),
            models.Index(fields=["tenant", "owner", "status", "starts_at"]),
            models.Index(fields=["tenant", "-starts_at", "-id"]),
            models.Index(fields=["tenant", "kind", "-starts_at"]),
            models.Index(fields=["tenant", "status", "reminder_at"]),
            models.Index(fields=["tenant", "created_by", "-created_at"]),
        ]

    def __str__(self):
        return self.subject

    @property
    def icon(self) -> str:
        return KIND_ICONS.get(self.kind, "circle")

    @property
    def is_planned(self) -> bool:
        return self.status == self.Status.PLANNED

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("activities:activity_detail", args=[self.pk])

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.PLANNED and self.starts_at < timezone.now()


class ActivityParticipant(TenantModel):
    """Someone taking part in a meeting or call: a colleague or a customer contact."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["tenant", "activity"]), models.Index(fields=["tenant", "user"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, contact__isnull=True)
                | models.Q(user__isnull=True, contact__isnull=False),
                name="activities_participant_one_kind",
            )
        ]

    def __str__(self):
        return str(self.user or self.contact)


class FollowUpPlan(TenantModel):
    """A reusable sequence of tasks with due dates relative to the day it is applied."""

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(pgettext_lazy("enabled", "active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("follow-up plan")
        verbose_name_plural = _("follow-up plans")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="activities_plan_unique_name")]

    def __str__(self):
        return self.name


class FollowUpStep(TenantModel):
    plan = models.ForeignKey(FollowUpPlan, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    offset_days = models.PositiveSmallIntegerField(_("days after start"), default=0)
    due_time = models.TimeField(_("due time"), default="10:00")
    kind = models.CharField(_("type"), max_length=10, choices=Activity.Kind.choices, default=Activity.Kind.TASK)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    remind_minutes_before = models.PositiveIntegerField(_("reminder (minutes before)"), null=True, blank=True)

    class Meta:
        verbose_name = _("plan step")
        verbose_name_plural = _("plan steps")
        ordering = ["plan", "position", "offset_days"]
        indexes = [models.Index(fields=["tenant", "plan", "position"])]

    def __str__(self):
        return self.subject


class Notification(TenantModel):
    """An in-app notice to one user; e-mailed too when the background worker runs."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Reminder")
        ASSIGNED = "assigned", _("Assigned to you")
        MENTION = "mention", _("Mention")
        SYSTEM = "system", _("System")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SYSTEM)
    title = models.CharField(max_length=200)
    body = models.CharField(max_length=500, blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "user", "read_at", "-created_at"]),
            models.Index(fields=["tenant", "emailed_at"]),
        ]

    def __str__(self):
        return self.title
