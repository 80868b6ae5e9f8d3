"""Forms shared by several apps."""

from django import forms
from django.http import Http404
from django.utils.translation import gettext_lazy as _


class DecisionForm(forms.Form):
    """An approver's comment beside the approve / reject buttons (``name="decision"``)."""

    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


def posted_decision(request) -> tuple[bool, str]:
    """The decision posted with a ``DecisionForm``: (approve?, comment); 404 unless approve or reject."""
    form = DecisionForm(request.POST)
    form.is_valid()
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        raise Http404
    return decision == "approve", form.cleaned_data.get("comment", "")
