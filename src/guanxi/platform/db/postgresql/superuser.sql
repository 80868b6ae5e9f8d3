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
--
-- Two-character fragments of company names ("星辰" in "北京星辰信息技术") are found through a GIN
-- index on guanxi_bigrams(name) (see guanxi/platform/db/postgresql/functions.py): the array
-- containment operator and that function reveal nothing about a row beyond their result either.
-- The function is created here as it is in the migration, marked leak-proof; replacing it keeps
-- its owner when a migration created it first.
ALTER FUNCTION pg_catalog.arraycontains(anyarray, anyarray) LEAKPROOF;
CREATE OR REPLACE FUNCTION public.guanxi_bigrams(value text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS $f$ SELECT coalesce(array_agg(DISTINCT g), '{}') FROM (SELECT upper(substr(value, i, 2)) AS g FROM generate_series(1, length(value) - 1) AS i) AS pairs WHERE octet_length(g) > 2 $f$;
