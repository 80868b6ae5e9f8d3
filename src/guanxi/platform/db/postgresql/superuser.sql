-- Run once per Guanxi database (and on template1, so test databases inherit it) by a PostgreSQL
-- superuser: `manage.py postgres_superuser_setup --superuser-url …`, or `psql -d <db> -f` this file.
--
-- Every tenant table has row-level security. PostgreSQL evaluates the policy before any
-- condition whose functions are not marked LEAKPROOF, so such a condition cannot be an index
-- condition: "name contains 'wang'" (UPPER(name) LIKE '%WANG%') would read every row of the
-- tenant instead of the trigram index. LIKE and UPPER reveal nothing about a row beyond their
-- result (their only errors concern the pattern, which the caller supplies), so they are
-- declared leak-proof here. Only a superuser may do this; without it Guanxi works, slower.
ALTER FUNCTION pg_catalog.textlike(text, text) LEAKPROOF;
ALTER FUNCTION pg_catalog.upper(text) LEAKPROOF;
