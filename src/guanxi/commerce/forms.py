from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.org.models import BusinessLine, OrgUnit
from guanxi.platform.forms import DecisionForm  # noqa: F401 (the approvers' form, shared)
from guanxi.platform.views import EntityForm

from .filters import RemoteSelect
from .models import CommerceSettings, Order, PriceBook, Product, ProductCategory, Quote, TaxClass

DATE = {"type": "date"}


def _remote(field: forms.ModelChoiceField, url, user) -> None:
    """Swap a (possibly huge) select for a remote-loading Tom Select showing only the chosen record."""
    widget = RemoteSelect(url, field.queryset.model)
    widget.user = user
    field.widget = widget


class ProductForm(EntityForm):
    entity_key = "commerce.product"
    owner_field = None

    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "kind",
            "category",
            "business_line",
            "unit",
            "list_price",
            "cost",
            "currency",
            "tax_class",
            "is_active",
            "description",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "category" in self.fields:
            self.fields["category"].queryset = ProductCategory.objects.select_related("parent").order_by("name")
        if "business_line" in self.fields:
            self.fields["business_line"].queryset = BusinessLine.objects.filter(is_active=True)
        if "tax_class" in self.fields:
            self.fields["tax_class"].queryset = TaxClass.objects.order_by("-rate", "name")
            self.fields["tax_class"].label_from_instance = lambda t: f"{t.name} ({t.rate.normalize():f} %)"


class PriceBookForm(EntityForm):
    entity_key = "commerce.price_book"
    owner_field = None

    class Meta:
        model = PriceBook
        fields = [
            "name",
            "currency",
            "is_default",
            "is_active",
            "region",
            "tier",
            "channel",
            "valid_from",
            "valid_until",
            "description",
        ]
        widgets = {
            "valid_from": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "valid_until": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "region" in self.fields:
            self.fields["region"].queryset = OrgUnit.objects.order_by("path")
            self.fields["region"].label_from_instance = lambda u: "— " * u.depth + u.name


class PriceBookEntryForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none(), label=_("Product"))
    min_quantity = forms.DecimalField(label=_("From quantity"), min_value=0, decimal_places=3, initial=1)
    unit_price = forms.DecimalField(label=_("Unit price"), min_value=0, decimal_places=4)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from guanxi.access import permissions

        self.fields["product"].queryset = permissions.visible(user, Product.objects.filter(is_active=True))
        _remote(self.fields["product"], reverse_lazy("commerce:product_options"), user)


class QuoteForm(EntityForm):
    entity_key = "commerce.quote"

    class Meta:
        model = Quote
        fields = [
            "title",
            "account",
            "contact",
            "opportunity",
            "owner",
            "price_book",
            "channel",
            "currency",
            "quote_date",
            "valid_until",
            "discount_percent",
            "terms",
            "notes",
        ]
        widgets = {
            "quote_date": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "valid_until": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "terms": forms.Textarea(attrs={"rows": 4}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _document_fields(self)
        if "valid_until" in self.fields:
            self.fields["valid_until"].required = False
            self.fields["valid_until"].help_text = _("Empty: the standard validity from the quote's date.")
        if "quote_date" in self.fields:
            self.fields["quote_date"].required = False
        if "title" in self.fields:
            self.fields["title"].required = False
            self.fields["title"].help_text = _("Empty: the opportunity's or account's name.")
        if "currency" in self.fields:
            self.fields["currency"].required = False
        if self.instance.pk and not self.instance.is_editable:
            for name, field in self.fields.items():
                if name not in ("owner", "notes") and not name.startswith("cf_"):
                    field.disabled = True


class OrderForm(EntityForm):
    entity_key = "commerce.order"

    class Meta:
        model = Order
        fields = [
            "account",
            "contact",
            "opportunity",
            "owner",
            "channel",
            "currency",
            "order_date",
            "discount_percent",
            "delivery_address",
            "requested_delivery_date",
            "carrier",
            "tracking_number",
            "delivered_at",
            "notes",
        ]
        widgets = {
            "order_date": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "requested_delivery_date": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "delivered_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "delivery_address": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _document_fields(self)
        for name in ("currency", "order_date"):
            if name in self.fields:
                self.fields[name].required = False
        if self.instance.pk and self.instance.status != Order.Status.DRAFT:
            delivery = {"delivery_address", "requested_delivery_date", "carrier", "tracking_number", "delivered_at"}
            open_ = self.instance.status in (Order.Status.CONFIRMED, Order.Status.FULFILLED)
            for name, field in self.fields.items():
                if name in ("owner", "notes") or name.startswith("cf_") or (open_ and name in delivery):
                    continue
                field.disabled = True


def _document_fields(form: EntityForm) -> None:
    """Account / contact / opportunity pickers of quotes and orders load their options remotely."""
    from guanxi.commerce.services import _opportunity_queryset

    user = form.user
    if "account" in form.fields and not form.fields["account"].disabled:
        _remote(form.fields["account"], reverse_lazy("customers:account_options"), user)
    if "contact" in form.fields:
        _remote(form.fields["contact"], reverse_lazy("activities:lookup", args=["contact"]), user)
    if "opportunity" in form.fields:
        form.fields["opportunity"].queryset = _opportunity_queryset(user)
        widget = RemoteSelect(reverse_lazy("commerce:opportunity_options"), form.fields["opportunity"].queryset.model)
        widget.user = user
        widget.queryset = form.fields["opportunity"].queryset
        form.fields["opportunity"].widget = widget
    if "price_book" in form.fields:
        form.fields["price_book"].queryset = form.fields["price_book"].queryset.filter(is_active=True)
        form.fields["price_book"].empty_label = _("Automatic: the most specific book")
    if "currency" in form.fields:
        form.fields["currency"].widget.attrs.update({"maxlength": 3, "autocapitalize": "characters"})


class CategoryForm(forms.ModelForm):
    class Meta:
        model = ProductCategory
        fields = ["name", "parent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        qs = ProductCategory.objects.order_by("name")
        if self.instance.pk:
            qs = qs.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = qs


class TaxClassForm(forms.ModelForm):
    class Meta:
        model = TaxClass
        fields = ["name", "rate"]


class CommerceSettingsForm(forms.ModelForm):
    class Meta:
        model = CommerceSettings
        fields = ["discount_approval_threshold_percent", "quote_validity_days", "default_currency", "quote_terms"]
        widgets = {"quote_terms": forms.Textarea(attrs={"rows": 5})}


class QuoteSendForm(forms.Form):
    to = forms.CharField(
        label=pgettext_lazy("email recipient", "To"),
        max_length=500,
        help_text=_("Several addresses separated by commas."),
    )
    cc = forms.CharField(label=_("Cc"), max_length=500, required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 10}))


class ApprovalRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Why this discount?"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)
