from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Sign-in by email address (case-insensitive) and password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        username = (username or kwargs.get("email") or "").strip().lower()
        if not username or password is None:
            return None
        return super().authenticate(request, username=username, password=password)
