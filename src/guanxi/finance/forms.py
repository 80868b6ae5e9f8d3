from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.commerce.filters import RemoteSelect
from guanxi.org.models import BusinessLine
from guanxi.platform.forms import DecisionForm  # noqa: F401 (the approvers' form, shared)
from guanxi.platform.views import EntityForm

from .models import (
    CommissionEntry,
    CommissionPeriod,
    CommissionPlan,
    CommissionStatement,
    Contract,
    Expense,
    FinanceSettings,
    Invoice,
    Payment,
    PaymentMethod,
)

DATE = {"type": "date"}


def _date_widget():
    return forms.DateInput(attrs=DATE, format="%Y-%m-%d")


def _remote(form: EntityForm, name: str, url, queryset=None) -> None:
    """A remote-loading Tom Select showing only the chosen record (accounts, contacts, opportunities)."""
    if name not in form.fields or form.fields[name].disabled:
        return
    field = form.fields[name]
    if queryset is not None:
        field.queryset = queryset
    widget = RemoteSelect(url, field.queryset.model)
    widget.user = form.user
    widget.queryset = queryset
    field.widget = widget


def _links(form: EntityForm) -> None:
    from guanxi.access import permissions
    from guanxi.sales.models import Opportunity

    _remote(form, "account", reverse_lazy("customers:account_options"))
    _remote(form, "contact", reverse_lazy("activities:lookup", args=["contact"]))
    if "opportunity" in form.fields:
        _remote(form, "opportunity", reverse_lazy("commerce:opportunity_options"),
                permissions.visible(form.user, Opportunity.objects.all()))  # fmt: skip
    if "business_line" in form.fields:
        form.fields["business_line"].queryset = BusinessLine.objects.filter(is_active=True)
    if "currency" in form.fields:
        form.fields["currency"].required = False
        form.fields["currency"].widget.attrs.update({"maxlength": 3, "autocapitalize": "characters"})


class ContractForm(EntityForm):
    entity_key = "finance.contract"

    class Meta:
        model = Contract
        fields = [
            "title", "account", "contact", "opportunity", "order", "owner", "business_line",
            "start_date", "end_date", "signed_date", "value", "currency",
            "our_company", "our_signatory", "customer_signatory", "terms", "notes",
        ]  # fmt: skip
        widgets = {
            "start_date": _date_widget(),
            "end_date": _date_widget(),
            "signed_date": _date_widget(),
            "terms": forms.Textarea(attrs={"rows": 5}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _links(self)
        for name in ("title", "start_date", "end_date", "value"):
            if name in self.fields:
                self.fields[name].required = False
        if "title" in self.fields:
            self.fields["title"].help_text = _("Empty: the opportunity's, order's or account's name.")
        if self.instance.pk and not self.instance.is_editable:
            from .services import CONTRACT_ALWAYS_EDITABLE

            for name, field in self.fields.items():
                if name not in CONTRACT_ALWAYS_EDITABLE and not name.startswith("cf_"):
                    field.disabled = True

    def service_data(self):
        """Empty title, dates, value or currency of a new contract: the defaults (from its opportunity or order)."""
        data = super().service_data()
        if not self.instance.pk:
            for name in ("title", "start_date", "end_date", "value", "currency", "our_company"):
                if data.get(name) in (None, ""):
                    data.pop(name, None)
        return data


class InvoiceForm(EntityForm):
    entity_key = "finance.invoice"

    class Meta:
        model = Invoice
        fields = [
            "title", "account", "contact", "contract", "order", "owner", "business_line", "currency",
            "discount_percent", "payment_terms_days", "due_date", "billing_address", "terms", "notes",
        ]  # fmt: skip
        widgets = {
            "due_date": _date_widget(),
            "billing_address": forms.Textarea(attrs={"rows": 3}),
            "terms": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _links(self)
        if "due_date" in self.fields:
            self.fields["due_date"].help_text = _("Empty: the invoice date plus the payment terms.")
        if "payment_terms_days" in self.fields:
            self.fields["payment_terms_days"].required = False
        if self.instance.pk and not self.instance.is_editable:
            for name, field in self.fields.items():
                if name not in ("owner", "notes") and not name.startswith("cf_"):
                    field.disabled = True


class PaymentForm(EntityForm):
    entity_key = "finance.payment"

    class Meta:
        model = Payment
        fields = ["invoice", "amount", "date", "method", "reference", "notes"]
        widgets = {"date": _date_widget(), "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .selectors import open_invoices_for_payment

        if "invoice" in self.fields:
            if self.instance.pk:
                self.fields["invoice"].disabled = True
            else:
                self.fields["invoice"].queryset = open_invoices_for_payment(self.user)
                self.fields["invoice"].label_from_instance = lambda i: (
                    f"{i.display_number} · {i.account} · {i.balance:,.2f} {i.currency}"
                )


class PaymentQuickForm(forms.Form):
    """Record a payment from the invoice page."""

    amount = forms.DecimalField(label=_("Amount"), max_digits=18, decimal_places=2, min_value=0)
    date = forms.DateField(label=pgettext_lazy("payment", "Date"), widget=_date_widget())
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Reference"), max_length=120, required=False)


class CommissionPlanForm(EntityForm):
    entity_key = "finance.commission_plan"
    owner_field = None

    class Meta:
        model = CommissionPlan
        fields = ["name", "basis", "period", "currency", "default_rate", "valid_from", "valid_until", "is_active",
                  "description"]  # fmt: skip
        widgets = {"valid_from": _date_widget(), "valid_until": _date_widget(),
                   "description": forms.Textarea(attrs={"rows": 3})}  # fmt: skip


class AdjustmentForm(EntityForm):
    """A manual commission entry (bonus or correction)."""

    entity_key = "finance.commission_entry"
    owner_field = "rep"

    class Meta:
        model = CommissionEntry
        fields = ["rep", "plan", "date", "amount", "currency", "description"]
        widgets = {"date": _date_widget()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "plan" in self.fields:
            self.fields["plan"].required = False
        if "amount" in self.fields:
            self.fields["amount"].help_text = _("Negative to take commission back.")


class CommissionStatementForm(EntityForm):
    entity_key = "finance.commission_statement"
    owner_field = "rep"

    class Meta:
        model = CommissionStatement
        fields = ["rep", "period_kind", "period_start", "currency", "notes"]
        widgets = {"period_start": _date_widget(), "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "period_start" in self.fields:
            self.fields["period_start"].label = _("A day in the period")
        if self.instance.pk:
            for name in ("rep", "period_kind", "period_start", "currency"):
                if name in self.fields:
                    self.fields[name].disabled = True


class ExpenseForm(EntityForm):
    entity_key = "finance.expense"

    class Meta:
        model = Expense
        fields = ["date", "category", "amount", "currency", "description", "account", "opportunity", "owner"]
        widgets = {"date": _date_widget()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _links(self)
        if self.instance.pk and not self.instance.is_editable:
            for name, field in self.fields.items():
                if not name.startswith("cf_"):
                    field.disabled = True


class FinanceSettingsForm(forms.ModelForm):
    class Meta:
        model = FinanceSettings
        fields = [
            "renewal_reminder_days", "expiry_warning_days", "invoice_due_days", "default_currency", "default_tax_rate",
            "company_name", "company_address", "company_tax_id", "bank_details", "invoice_terms",
        ]  # fmt: skip
        widgets = {
            "company_address": forms.Textarea(attrs={"rows": 3}),
            "bank_details": forms.Textarea(attrs={"rows": 3}),
            "invoice_terms": forms.Textarea(attrs={"rows": 4}),
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class SubmitForm(forms.Form):
    message = forms.CharField(label=_("Message to the approver"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip


class PeriodLockForm(forms.Form):
    period_kind = forms.ChoiceField(label=_("Period"), choices=CommissionPeriod.choices)
    day = forms.DateField(label=_("A day in the period"), widget=_date_widget())
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="CNY")
