"""PostgreSQL backend that carries the tenant context into the database session.

Before any statement runs, the connection's ``guanxi.tenant_id`` and
``guanxi.all_tenants`` settings are brought in line with the Python tenant context.
Row-level security policies (``guanxi.platform.rls``) read them, so even a raw SQL
query sees only the current tenant's rows. The setting is re-sent only when the
context changes, or after a rollback (which may have reverted it).
"""

from django.db.backends.postgresql import base

from guanxi.platform import context

SET_SQL = "SELECT set_config('guanxi.tenant_id', %s, false), set_config('guanxi.all_tenants', %s, false)"


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._guanxi_applied = None
        self.execute_wrappers.append(self._tenant_settings_wrapper)

    def desired_tenant_settings(self) -> tuple[str, str]:
        tenant_id = context.current_tenant_id()
        return (str(tenant_id) if tenant_id is not None else "", "on" if context.all_tenants_active() else "off")

    def apply_tenant_settings(self, raw_cursor=None) -> None:
        """Send the tenant settings now (also used before COPY, which bypasses wrappers)."""
        wanted = self.desired_tenant_settings()
        if wanted == self._guanxi_applied:
            return
        if raw_cursor is None:
            self.ensure_connection()
            with self.connection.cursor() as cur:
                cur.execute(SET_SQL, wanted)
        else:
            raw_cursor.execute(SET_SQL, wanted)
        self._guanxi_applied = wanted

    def _tenant_settings_wrapper(self, execute, sql, params, many, ctx):
        if self.desired_tenant_settings() != self._guanxi_applied and not self.needs_rollback:
            self.apply_tenant_settings(raw_cursor=ctx["cursor"].cursor)
        return execute(sql, params, many, ctx)

    def get_new_connection(self, conn_params):
        self._guanxi_applied = None
        return super().get_new_connection(conn_params)

    # The rollback may have reverted the settings; forget them only after it ran, so the
    # ROLLBACK itself is not preceded by a SET inside the aborted transaction.
    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._guanxi_applied = None

    def _savepoint_rollback(self, sid):
        try:
            return super()._savepoint_rollback(sid)
        finally:
            self._guanxi_applied = None
