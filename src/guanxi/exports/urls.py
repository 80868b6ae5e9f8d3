"""Exports have no pages of their own: every entity list has ``<entity>_export`` (see ``EntityViews.urls``)."""

app_name = "exports"

urlpatterns: list = []
