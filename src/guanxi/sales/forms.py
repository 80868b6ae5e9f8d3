from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.customers.forms import TagsField
from guanxi.customers.models import Source
from guanxi.org.models import BusinessLine, OrgUnit, Team
from guanxi.platform.views import EntityForm

from . import lead_services
from .models import (
    Competitor,
    Lead,
    LeadAssignmentRule,
    LeadScoringRule,
    Opportunity,
    Pipeline,
    Stage,
    WebToLeadForm,
)

SELECT = {"data-gx-select": ""}


def _units(field):
    field.queryset = OrgUnit.objects.order_by("path")
    field.label_from_instance = lambda u: "— " * u.depth + u.name


class LeadForm(EntityForm):
    entity_key = "sales.lead"
    tags = TagsField()

    class Meta:
        model = Lead
        fields = [
            "company",
            "family_name",
            "given_name",
            "title",
            "owner",
            "email",
            "phone",
            "website",
            "industry",
            "source",
            "campaign",
            "business_line",
            "region",
            "country",
            "province",
            "city",
            "district",
            "street",
            "postal_code",
            "description",
            "tags",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "website": forms.URLInput(attrs={"placeholder": "https://"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "owner" in self.fields and not self.instance.pk:
            self.fields["owner"].required = False
            self.fields["owner"].help_text = _("Leave empty to let the lead assignment rules choose.")
        if "region" in self.fields:
            _units(self.fields["region"])
        if "business_line" in self.fields:
            self.fields["business_line"].queryset = BusinessLine.objects.filter(is_active=True)


class OpportunityForm(EntityForm):
    entity_key = "sales.opportunity"
    tags = TagsField()
    probability = forms.IntegerField(
        label=_("probability (%)"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("Empty: the stage's probability."),
    )

    class Meta:
        model = Opportunity
        fields = [
            "name",
            "account",
            "contact",
            "owner",
            "pipeline",
            "stage",
            "amount",
            "currency",
            "amount_from_lines",
            "expected_close_date",
            "probability",
            "forecast_category",
            "next_step",
            "team",
            "business_line",
            "region",
            "is_key_account",
            "description",
            "tags",
        ]
        widgets = {
            "expected_close_date": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "pipeline" in self.fields:
            self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True).order_by("-is_default", "name")
            self.fields["pipeline"].required = False
            self.fields["pipeline"].help_text = _("Empty: the business line's pipeline, else the default one.")
        if "stage" in self.fields:
            stages = Stage.objects.filter(pipeline__is_active=True, kind=Stage.Kind.OPEN)
            if self.instance.pk:
                stages = Stage.objects.filter(pk=self.instance.stage_id) | stages
            self.fields["stage"].queryset = stages.select_related("pipeline").order_by("pipeline__name", "position")
            self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name} · {s.name}"
            self.fields["stage"].required = False
            self.fields["stage"].help_text = _("Empty: the first stage. Won and lost have their own buttons.")
        if "team" in self.fields:
            self.fields["team"].queryset = Team.objects.order_by("name")
        if "business_line" in self.fields:
            self.fields["business_line"].queryset = BusinessLine.objects.filter(is_active=True)
        if "region" in self.fields:
            _units(self.fields["region"])
        if "amount" in self.fields:
            self.fields["amount"].required = False

    def clean_amount(self):
        return self.cleaned_data.get("amount") or 0


class CompetitorForm(EntityForm):
    entity_key = "sales.competitor"

    class Meta:
        model = Competitor
        fields = ["name", "status", "website", "main_markets", "background", "strategy", "strengths", "weaknesses"]
        widgets = {
            "background": forms.Textarea(attrs={"rows": 3}),
            "strategy": forms.Textarea(attrs={"rows": 3}),
            "strengths": forms.Textarea(attrs={"rows": 3}),
            "weaknesses": forms.Textarea(attrs={"rows": 3}),
            "website": forms.URLInput(attrs={"placeholder": "https://"}),
        }


# --- record actions ------------------------------------------------------------------------------


class ConvertForm(forms.Form):
    """Choices made on the conversion page (existing records to link or new ones)."""

    account = forms.CharField(required=False)  # "new" or an account id
    contact = forms.CharField(required=False)  # "new", "none" or a contact id
    create_opportunity = forms.BooleanField(required=False, initial=True, label=_("Create an opportunity"))
    opportunity_name = forms.CharField(label=_("Opportunity name"), max_length=200, required=False)
    amount = forms.DecimalField(label=_("Amount"), max_digits=18, decimal_places=2, required=False, min_value=0)
    expected_close_date = forms.DateField(
        label=_("Expected close date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    pipeline = forms.ModelChoiceField(queryset=None, required=False, label=_("Pipeline"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True).order_by("-is_default", "name")


class LineForm(forms.Form):
    product = forms.ModelChoiceField(queryset=None, required=False, label=_("Product"))
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=14, decimal_places=3, initial=1)
    unit_price = forms.DecimalField(
        label=_("Unit price"), max_digits=18, decimal_places=2, required=False, help_text=_("Empty: list price.")
    )
    discount_percent = forms.DecimalField(
        label=_("Discount (%)"), max_digits=5, decimal_places=2, required=False, initial=0
    )

    def __init__(self, *args, **kwargs):
        from guanxi.commerce.models import Product

        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(is_active=True).order_by("name")
        self.fields["product"].widget.attrs.update(SELECT)


class OpportunityCompetitorForm(forms.Form):
    competitor = forms.ModelChoiceField(queryset=None, label=_("Competitor"))
    strengths = forms.CharField(label=_("Their strengths here"), max_length=500, required=False)
    weaknesses = forms.CharField(label=_("Their weaknesses here"), max_length=500, required=False)
    price = forms.DecimalField(label=_("Their price"), max_digits=18, decimal_places=2, required=False, min_value=0)

    def __init__(self, *args, competitors=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["competitor"].queryset = competitors if competitors is not None else Competitor.objects.none()
        self.fields["competitor"].widget.attrs.update(SELECT)


class CompetingProductForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    use = forms.CharField(label=_("Use"), max_length=300, required=False)
    performance = forms.CharField(label=_("Performance"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    price = forms.DecimalField(label=_("Price"), max_digits=18, decimal_places=2, required=False, min_value=0)
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
    competes_with = forms.ModelMultipleChoiceField(queryset=None, required=False, label=_("Competes with our products"))

    def __init__(self, *args, **kwargs):
        from guanxi.commerce.models import Product

        super().__init__(*args, **kwargs)
        self.fields["competes_with"].queryset = Product.objects.order_by("name")
        self.fields["competes_with"].widget.attrs.update(SELECT)


# --- administration ------------------------------------------------------------------------------


class PipelineForm(forms.ModelForm):
    class Meta:
        model = Pipeline
        fields = ["name", "business_line", "is_default", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["business_line"].queryset = BusinessLine.objects.filter(is_active=True)


class StageForm(forms.ModelForm):
    class Meta:
        model = Stage
        fields = ["name", "probability", "kind"]
        widgets = {"probability": forms.NumberInput(attrs={"min": 0, "max": 100})}


class ScoringRuleForm(forms.ModelForm):
    field = forms.ChoiceField(label=_("field"))

    class Meta:
        model = LeadScoringRule
        fields = ["name", "category", "field", "operator", "value", "points", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = lead_services.scoring_field_choices()
        self.fields["value"].required = False


class AssignmentRuleForm(forms.ModelForm):
    assignees = forms.ModelMultipleChoiceField(queryset=None, label=_("assignees"))

    class Meta:
        model = LeadAssignmentRule
        fields = ["name", "strategy", "region", "business_line", "source", "is_active"]

    def __init__(self, *args, **kwargs):
        from guanxi.org.models import Member

        super().__init__(*args, **kwargs)
        self.fields["assignees"].queryset = (
            Member.objects.filter(is_active=True).select_related("user").order_by("user__full_name")
        )
        self.fields["assignees"].label_from_instance = lambda m: m.user.full_name or m.user.email
        self.fields["assignees"].widget.attrs.update(SELECT)
        _units(self.fields["region"])
        self.fields["business_line"].queryset = BusinessLine.objects.filter(is_active=True)
        self.fields["source"].choices = [("", _("Any source")), *Source.choices]
        if self.instance.pk:
            self.fields["assignees"].initial = list(
                self.instance.assignee_links.order_by("position").values_list("member_id", flat=True)
            )


class WebFormForm(forms.ModelForm):
    shown_fields = forms.MultipleChoiceField(
        label=_("Fields shown"), widget=forms.CheckboxSelectMultiple, choices=(), required=False
    )
    mandatory_fields = forms.MultipleChoiceField(
        label=_("Required fields"), widget=forms.CheckboxSelectMultiple, choices=(), required=False
    )

    class Meta:
        model = WebToLeadForm
        fields = [
            "name",
            "is_active",
            "title",
            "intro",
            "default_owner",
            "source",
            "campaign",
            "business_line",
            "region",
            "thank_you_url",
            "thank_you_message",
        ]
        widgets = {"intro": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        from guanxi.org.selectors import member_users

        super().__init__(*args, **kwargs)
        labels = [(name, Lead._meta.get_field(name).verbose_name.capitalize()) for name in lead_services.WEB_FIELDS]
        self.fields["shown_fields"].choices = labels
        self.fields["mandatory_fields"].choices = labels
        if self.instance.pk:
            self.initial["shown_fields"] = list(self.instance.fields)
            self.initial["mandatory_fields"] = list(self.instance.required_fields)
        else:
            self.initial["shown_fields"] = lead_services.DEFAULT_WEB_FIELDS
            self.initial["mandatory_fields"] = ["family_name", "email"]
        self.fields["default_owner"].queryset = member_users()
        self.fields["default_owner"].widget.attrs.update(SELECT)
        _units(self.fields["region"])
        self.fields["business_line"].queryset = BusinessLine.objects.filter(is_active=True)

    def form_instance(self) -> WebToLeadForm:
        """The (unsaved) form configuration with the chosen fields, for ``webform_save``."""
        form = self.save(commit=False)
        form.fields = list(self.cleaned_data.get("shown_fields") or [])
        form.required_fields = list(self.cleaned_data.get("mandatory_fields") or [])
        return form
