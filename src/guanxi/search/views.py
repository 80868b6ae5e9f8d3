from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .selectors import global_search


@login_required
def search(request):
    """Global search: a typeahead fragment (``typeahead=1``) or a full results page."""
    query = request.GET.get("q", "")
    typeahead = request.GET.get("typeahead") == "1"
    results = global_search(request.user, query, limit=6 if typeahead else 50)
    template = "search/_typeahead.html" if typeahead else "search/results.html"
    return render(request, template, {"results": results, "query": results.query})
