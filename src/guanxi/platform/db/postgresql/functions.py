"""SQL functions Guanxi's PostgreSQL indexes are built on (created by migrations).

``guanxi_bigrams(text)``: the distinct two-character fragments of a text that hold a
non-ASCII character (upper-cased). A trigram index cannot answer "contains" for a
two-character fragment, and two characters are a whole word in Chinese ("星辰" inside
"北京星辰信息技术"); a GIN index on this array can, as ``guanxi_bigrams(name) @> '{星辰}'``.
ASCII pairs are left out: short Latin fragments match the start of a name instead, through
b-tree ranges, and their pairs would only make the index larger.

``superuser.sql`` creates the same function marked ``LEAKPROOF`` (only a superuser may), so
that row-level security lets the index serve it; ``tests/test_search_selectors.py`` checks the
two definitions are the same.
"""

BIGRAMS_BODY = (
    "SELECT coalesce(array_agg(DISTINCT g), '{}') "
    "FROM (SELECT upper(substr(value, i, 2)) AS g FROM generate_series(1, length(value) - 1) AS i) AS pairs "
    "WHERE octet_length(g) > 2"
)
BIGRAMS_SIGNATURE = "public.guanxi_bigrams(text)"


def bigrams_function_sql(*, leakproof: bool) -> str:
    return (
        "CREATE OR REPLACE FUNCTION public.guanxi_bigrams(value text) RETURNS text[] "
        f"LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE{' LEAKPROOF' if leakproof else ''} "
        f"AS $f$ {BIGRAMS_BODY} $f$"
    )
