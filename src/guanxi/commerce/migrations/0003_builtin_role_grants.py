"""Give the built-in roles of existing tenants their commerce permissions (new tenants get them from BUILTIN_ROLES)."""

from django.db import migrations

ALL = ("view", "create", "edit", "delete", "import", "export", "assign", "administer")
CATALOG = {"commerce.product": {"view": "tenant"}, "commerce.price_book": {"view": "tenant"}}
MANAGER = dict.fromkeys(("view", "create", "edit", "delete", "import", "export", "assign"), "unit")
REP = {"view": "team", "create": "own", "edit": "own", "delete": "own", "export": "own"}
GRANTS = {
    "Administrator": {
        "commerce.product": dict.fromkeys(("view", "create", "edit", "delete", "import", "export"), "tenant"),
        "commerce.price_book": dict.fromkeys(("view", "create", "edit", "delete", "export"), "tenant"),
        "commerce.quote": dict.fromkeys(ALL, "tenant"),
        "commerce.order": dict.fromkeys(ALL, "tenant"),
    },
    "Sales manager": {"commerce.quote": MANAGER, "commerce.order": MANAGER, **CATALOG},
    "Sales representative": {"commerce.quote": REP, "commerce.order": REP, **CATALOG},
    "Service agent": {"commerce.order": {"view": "tenant"}, **CATALOG},
    "Marketer": CATALOG,
    "Read only": {"commerce.quote": {"view": "tenant"}, "commerce.order": {"view": "tenant"}, **CATALOG},
}


def grant(apps, schema_editor):
    from guanxi.platform.context import all_tenants_scope

    Role = apps.get_model("access", "Role")
    RolePermission = apps.get_model("access", "RolePermission")
    with all_tenants_scope():
        rows = []
        for role in Role.objects.filter(is_builtin=True, name__in=list(GRANTS)):
            for module, actions in GRANTS[role.name].items():
                for action, scope in actions.items():
                    rows.append(
                        RolePermission(tenant_id=role.tenant_id, role=role, module=module, action=action, scope=scope)
                    )
        RolePermission.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0002_quotes_orders_price_books"),
        ("access", "0002_initial"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
