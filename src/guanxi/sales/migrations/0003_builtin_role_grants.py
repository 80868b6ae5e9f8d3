"""Give the built-in roles of existing tenants their sales permissions (new tenants get them from
``guanxi.access.services.BUILTIN_ROLES``)."""

from django.db import migrations

ALL = ("view", "create", "edit", "delete", "import", "export", "assign", "administer")
MANAGER = dict.fromkeys(("view", "create", "edit", "delete", "import", "export", "assign"), "unit")
REP = {"view": "team", "create": "own", "edit": "own", "delete": "own", "export": "own"}
COMPETITOR_VIEW = {"sales.competitor": {"view": "tenant"}}
GRANTS = {
    "Administrator": {
        "sales.lead": dict.fromkeys(ALL, "tenant"),
        "sales.opportunity": dict.fromkeys(ALL, "tenant"),
        "sales.competitor": dict.fromkeys(("view", "create", "edit", "delete", "import", "export"), "tenant"),
    },
    "Sales manager": {"sales.lead": MANAGER, "sales.opportunity": MANAGER, **COMPETITOR_VIEW},
    "Sales representative": {"sales.lead": REP, "sales.opportunity": REP, **COMPETITOR_VIEW},
}


def grant(apps, schema_editor):
    from guanxi.platform.context import all_tenants_scope

    Role = apps.get_model("access", "Role")
    RolePermission = apps.get_model("access", "RolePermission")
    with all_tenants_scope():  # a migration of every tenant's roles
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
        ("sales", "0002_leads_lines_competitors"),
        ("access", "0002_initial"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
