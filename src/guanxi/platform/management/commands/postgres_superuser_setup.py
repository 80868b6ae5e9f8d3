"""Apply the superuser part of the PostgreSQL set-up (leak-proof search operators) to a database."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from guanxi.platform.db.postgresql import superuser


class Command(BaseCommand):
    help = (
        "Mark LIKE and UPPER leak-proof in Guanxi's PostgreSQL database, so that searches can use "
        "their trigram indexes under row-level security. Needs a superuser connection."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--superuser-url",
            default="",
            help="postgres://superuser@host:port/ (the database name is taken from DATABASE_URL)",
        )
        parser.add_argument("--print", action="store_true", help="print the SQL instead of running it")

    def handle(self, *args, superuser_url, print: bool, **options):
        statements = superuser.statements()
        if print:
            self.stdout.write(";\n".join(statements) + ";")
            return
        if connection.vendor != "postgresql":
            raise CommandError("DATABASE_URL is not a PostgreSQL database; nothing to do.")
        if not superuser_url:
            raise CommandError("Give --superuser-url (or run the SQL printed by --print as a superuser).")
        import urllib.parse

        import psycopg

        parts = urllib.parse.urlsplit(superuser_url)
        url = urllib.parse.urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                for sql in statements:
                    conn.execute(sql)
        except psycopg.Error as e:
            raise CommandError(f"Could not apply the set-up: {e}") from e
        with connection.cursor() as cursor:
            missing = superuser.missing_leakproof(cursor)
        if missing:
            raise CommandError(f"Still not leak-proof: {', '.join(missing)}")
        self.stdout.write(self.style.SUCCESS(f"{connection.settings_dict['NAME']}: search operators are leak-proof."))
