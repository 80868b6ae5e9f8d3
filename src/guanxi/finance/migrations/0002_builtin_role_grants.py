"""Give the built-in roles of existing tenants their finance permissions (new tenants get them from
``guanxi.access.services.BUILTIN_ROLES``)."""

from django.db import migrations

RECORD = ("view", "create", "edit", "delete", "export", "assign")
MANAGER = dict.fromkeys(RECORD, "unit")
REP = {"view": "team", "create": "own", "edit": "own", "delete": "own", "export": "own"}
REP_EXPENSE = dict.fromkeys(("view", "create", "edit", "delete", "export"), "own")
GRANTS = {
    "Administrator": {
        "finance.contract": dict.fromkeys(RECORD, "tenant"),
        "finance.invoice": dict.fromkeys(RECORD, "tenant"),
        "finance.expense": dict.fromkeys(RECORD, "tenant"),
        "finance.payment": dict.fromkeys(("view", "create", "edit", "delete", "export"), "tenant"),
        "finance.commission_plan": dict.fromkeys(("view", "create", "edit", "delete", "export"), "tenant"),
        "finance.commission_entry": dict.fromkeys(("view", "create", "delete", "export"), "tenant"),
        "finance.commission_statement": dict.fromkeys(("view", "create", "delete", "export", "administer"), "tenant"),
    },
    "Sales manager": {
        "finance.contract": MANAGER,
        "finance.invoice": MANAGER,
        "finance.expense": MANAGER,
        "finance.payment": {"view": "unit", "create": "unit", "export": "unit"},
        "finance.commission_plan": {"view": "tenant"},
        "finance.commission_entry": {"view": "unit", "export": "unit"},
        "finance.commission_statement": {"view": "unit", "create": "unit", "export": "unit"},
    },
    "Sales representative": {
        "finance.contract": REP,
        "finance.invoice": REP,
        "finance.expense": REP_EXPENSE,
        "finance.payment": {"view": "own"},
        "finance.commission_plan": {"view": "tenant"},
        "finance.commission_entry": {"view": "own"},
        "finance.commission_statement": {"view": "own"},
    },
    "Read only": {"finance.contract": {"view": "tenant"}, "finance.invoice": {"view": "tenant"},
                  "finance.payment": {"view": "tenant"}},  # fmt: skip
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
        ("finance", "0001_finance"),
        ("access", "0002_initial"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
