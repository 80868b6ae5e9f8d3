"""Forms of the activity pages. They parse input; the services validate and write."""

from __future__ import annotations

import datetime

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.access import permissions
from guanxi.platform.views import EntityForm

from .models import Activity, FollowUpPlan, FollowUpStep

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _field(name: str, **kwargs):
    return Activity._meta.get_field(name).formfield(**kwargs)


def datetime_widget():
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)


def date_widget():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _member_choices(blank: bool = True):
    from guanxi.org.selectors import member_user_choices

    choices = list(member_user_choices())
    return [("", "—"), *choices] if blank else choices


class MultiRecordPicker(forms.ModelMultipleChoiceField):
    """Visible contacts picked with a remote-search select (only the chosen ones are rendered)."""

    def __init__(self, *args, lookup: str, **kwargs):
        kwargs.setdefault("widget", forms.SelectMultiple(attrs={"data-gx-select": "", "data-gx-select-url": ""}))
        super().__init__(*args, **kwargs)
        self.lookup = lookup


def _limit_picker_choices(form: forms.Form, name: str) -> None:
    """Render only the selected records in a remote-search select, never the whole table."""
    field = form.fields[name]
    field.widget.attrs["data-gx-select-url"] = reverse("activities:lookup", args=[field.lookup])
    value = form[name].value()
    values = [v for v in (value if isinstance(value, (list, tuple)) else [value]) if v not in (None, "")]
    ids = [getattr(v, "pk", v) for v in values]
    ids = [int(v) for v in ids if str(v).isdigit()]
    selected = [(o.pk, str(o)) for o in field.queryset.filter(pk__in=ids)] if ids else []
    blank = [] if isinstance(field, forms.ModelMultipleChoiceField) else [("", "—")]
    field.widget.choices = blank + selected


class ActivityForm(EntityForm):
    """Create / edit form of an activity (generic entity form + participants and follow-up)."""

    entity_key = "activities.activity"

    follow_up_due = forms.DateField(
        label=_("Next step due"),
        required=False,
        widget=date_widget(),
        help_text=_("With a next step, creates a follow-up task for that day."),
    )
    participant_users = forms.TypedMultipleChoiceField(
        label=_("Colleagues taking part"),
        coerce=int,
        required=False,
        widget=forms.SelectMultiple(attrs={"data-gx-select": ""}),
    )
    participant_contacts = MultiRecordPicker(
        queryset=None, required=False, label=_("Customer contacts taking part"), lookup="contact"
    )

    class Meta:
        model = Activity
        fields = [
            "kind",
            "subject",
            "status",
            "starts_at",
            "ends_at",
            "priority",
            "body",
            "account",
            "contact",
            "owner",
            "direction",
            "location",
            "outcome",
            "next_step",
            "reminder_at",
        ]
        widgets = {
            "starts_at": datetime_widget(),
            "ends_at": datetime_widget(),
            "reminder_at": datetime_widget(),
            "body": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        from guanxi.customers.models import Contact

        super().__init__(*args, **kwargs)
        for name in ("starts_at", "ends_at", "reminder_at"):
            if name in self.fields:
                self.fields[name].widget.format = DATETIME_FORMAT
        self.fields["participant_users"].choices = _member_choices(blank=False)
        self.fields["participant_contacts"].queryset = permissions.visible(self.user, Contact.objects.all())
        if self.instance.pk:
            del self.fields["follow_up_due"]
            people = list(self.instance.participants.all())
            self.initial.setdefault("participant_users", [p.user_id for p in people if p.user_id])
            self.initial.setdefault("participant_contacts", [p.contact_id for p in people if p.contact_id])
        elif "status" in self.fields:
            self.fields["status"].required = False
            self.fields["status"].choices = [
                ("", _("Automatic")),
                *Activity.Status.choices,
            ]
            self.initial.setdefault("status", "")
            self.fields["status"].help_text = _("Planned for a task or anything in the future, else done.")
        for name in ("account", "contact"):
            if name in self.fields:
                field = self.fields[name]
                field.widget.attrs.update({"data-gx-select": ""})
                field.lookup = name
                _limit_picker_choices(self, name)
        _limit_picker_choices(self, "participant_contacts")

    def service_data(self) -> dict:
        """Model fields for the service, plus ``_participants`` (users, contacts) and ``_follow_up_due``."""
        data = super().service_data()
        for name in ("participant_users", "participant_contacts", "follow_up_due"):
            data.pop(name, None)
        if self.instance.pk is None and not data.get("status"):
            data.pop("status", None)
        data["_participants"] = self.participants()
        data["_follow_up_due"] = self.cleaned_data.get("follow_up_due")
        return data

    def participants(self) -> tuple[list | None, list | None]:
        if self.fields.get("participant_users") is None or self.fields["participant_users"].disabled:
            return None, None
        return (
            list(self.cleaned_data.get("participant_users") or []),
            list(self.cleaned_data.get("participant_contacts") or []),
        )


class QuickLogForm(forms.Form):
    """The "log an activity" form at the top of a timeline."""

    LOG_KINDS = [
        (Activity.Kind.NOTE, _("Note")),
        (Activity.Kind.CALL, _("Call")),
        (Activity.Kind.MEETING, _("Meeting")),
        (Activity.Kind.TASK, _("Task")),
        (Activity.Kind.EMAIL, pgettext_lazy("activity type", "Email")),
    ]

    kind = forms.ChoiceField(label=_("Type"), choices=LOG_KINDS, initial=Activity.Kind.NOTE, widget=forms.RadioSelect)
    subject = _field("subject")
    body = _field("body", widget=forms.Textarea(attrs={"rows": 3}))
    starts_at = forms.DateTimeField(label=_("When"), widget=datetime_widget())
    direction = _field("direction")
    outcome = _field("outcome")
    next_step = _field("next_step")
    follow_up_due = forms.DateField(label=_("Next step due"), required=False, widget=date_widget())

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"starts_at": timezone.localtime().replace(second=0, microsecond=0)})
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("kind") not in (Activity.Kind.CALL, Activity.Kind.EMAIL):
            data["direction"] = ""
        if data.get("follow_up_due") and not data.get("next_step"):
            self.add_error("next_step", _("Say what the next step is."))
        return data

    def service_data(self) -> dict:
        d = self.cleaned_data
        return {
            "kind": d["kind"],
            "subject": d["subject"],
            "body": d.get("body") or "",
            "starts_at": d["starts_at"],
            "direction": d.get("direction") or "",
            "outcome": d.get("outcome") or "",
            "next_step": d.get("next_step") or "",
        }


class CompleteForm(forms.Form):
    outcome = _field("outcome")
    next_step = _field("next_step")
    follow_up_due = forms.DateField(
        label=_("Next step due"),
        required=False,
        widget=date_widget(),
        help_text=_("With a next step, creates a follow-up task for that day."),
    )

    def clean(self):
        data = super().clean()
        if data.get("follow_up_due") and not data.get("next_step"):
            self.add_error("next_step", _("Say what the next step is."))
        return data


class RescheduleForm(forms.Form):
    QUICK = [("tomorrow", _("Tomorrow")), ("next_week", _("Next week"))]

    to = forms.ChoiceField(choices=QUICK, required=False)
    starts_at = forms.DateTimeField(label=_("New time"), required=False, widget=datetime_widget())

    def clean(self):
        data = super().clean()
        if not data.get("to") and not data.get("starts_at"):
            raise forms.ValidationError(_("Choose a new time."))
        return data

    def new_start(self, activity: Activity) -> datetime.datetime:
        if not self.cleaned_data.get("to"):
            return self.cleaned_data["starts_at"]
        local = timezone.localtime(activity.starts_at)
        today = timezone.localdate()
        if self.cleaned_data["to"] == "tomorrow":
            day = today + datetime.timedelta(days=1)
        else:
            day = max(local.date(), today) + datetime.timedelta(days=7)
        return timezone.make_aware(datetime.datetime.combine(day, local.time()))


class FollowUpPlanForm(forms.ModelForm):
    class Meta:
        model = FollowUpPlan
        fields = ["name", "description", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def validate_unique(self):
        pass  # the service checks the name per tenant, with a readable message


class FollowUpStepForm(forms.ModelForm):
    class Meta:
        model = FollowUpStep
        fields = ["kind", "subject", "offset_days", "due_time", "remind_minutes_before", "body"]
        widgets = {
            "due_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "body": forms.Textarea(attrs={"rows": 3}),
        }


class ApplyPlanForm(forms.Form):
    plan = forms.ModelChoiceField(label=pgettext_lazy("follow-up plan", "Plan"), queryset=None)
    start = forms.DateField(label=_("Start on"), widget=date_widget())
    owner = forms.TypedChoiceField(label=_("Tasks for"), coerce=int, widget=forms.Select(attrs={"data-gx-select": ""}))
    account = forms.IntegerField(required=False, widget=forms.HiddenInput)
    contact = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("start", timezone.localdate())
        initial.setdefault("owner", user.pk)
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = FollowUpPlan.objects.filter(is_active=True).order_by("name")
        self.fields["owner"].choices = _member_choices(blank=False)
