"""The `vecinos` command: serve, worker, migrate, createadmin, demo, rights, check, token, purge,
genkey.

`vecinos serve` runs the web server and the background workers together as child processes,
starts a worker again if it dies (the web server stays up), and stops them all on Ctrl-C.
Every subcommand answers --help.
"""

from __future__ import annotations

import argparse
import gc
import getpass
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from vecinos.core.supervisor import SERVE_STATE, WorkerSupervisor


class MissingData(Exception):
    """The data directory or the database a command needs is not there (a clear message)."""


def _require_data() -> None:
    """Refuse, before settings create ./var, when the embedded database was never made.

    Only for the embedded default (no VECINOS_DATABASE_URL) and a fresh process: a database
    server that is missing or empty is reported by main() from the DatabaseError.
    """
    from django.conf import settings as django_settings

    if django_settings.configured or os.environ.get("VECINOS_DATABASE_URL"):
        return
    if os.environ.get("DJANGO_SETTINGS_MODULE", "vecinos.settings") != "vecinos.settings":
        return
    data_dir = Path(os.environ.get("VECINOS_DATA_DIR") or Path.cwd() / "var").resolve()
    hint = (
        "Run `vecinos migrate` (or `vecinos serve`) there first, or set VECINOS_DATA_DIR "
        "(or VECINOS_DATABASE_URL) to the one you use."
    )
    if not data_dir.is_dir():
        raise MissingData(f"No data directory at {data_dir}. {hint}")
    if not (data_dir / "vecinos.sqlite3").is_file():
        raise MissingData(f"No database in {data_dir} (vecinos.sqlite3 is missing). {hint}")


def _setup_django(*, creates: bool = False) -> None:
    """Set Django up; commands that do not create the database first check that it exists."""
    if not creates:
        _require_data()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vecinos.settings")
    import django

    django.setup()


def _call(*args, **kwargs) -> None:
    from django.core.management import call_command

    call_command(*args, **kwargs)


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup_django(creates=True)
    _call("migrate", interactive=False, verbosity=args.verbosity)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    _setup_django(creates=True)
    from django.core.management.base import SystemCheckError

    try:
        _call("check", deploy=args.deploy, fail_level="ERROR")
    except SystemCheckError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.worker:
        return _check_worker(args.timeout)
    return 0


def _check_worker(timeout: float) -> int:
    """Round-trip a task through the queue and a running worker."""
    import secrets as _secrets

    from django_tasks import TaskResultStatus

    from vecinos.core.tasks import selftest

    token = _secrets.token_hex(8)
    result = selftest.enqueue(token)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result.refresh()
        if result.status == TaskResultStatus.SUCCESSFUL and result.return_value == token:
            print("worker: ok")
            return 0
        if result.status == TaskResultStatus.FAILED:
            break
        time.sleep(0.2)
    print(f"worker: no answer within {timeout:g} s (status {result.status})", file=sys.stderr)
    return 1


def cmd_demo(args: argparse.Namespace) -> int:
    _setup_django(creates=True)
    from django.conf import settings

    if settings.PRODUCTION:
        print("The demo coalition is fictional: it is never loaded in production.", file=sys.stderr)
        return 1
    _call("migrate", interactive=False, verbosity=0)
    _call("demo")
    return 0


def cmd_rights(args: argparse.Namespace) -> int:
    _setup_django()
    kwargs = {"languages": args.language} if args.language else {}
    _call("rights", args.action, **kwargs)
    return 0


def cmd_createadmin(args: argparse.Namespace) -> int:
    _setup_django()
    from vecinos.network.models import Member, Tier

    if Member.objects.filter(username=args.username).exists():
        print(f"A member called {args.username!r} already exists.", file=sys.stderr)
        return 1
    if args.password_file:
        with open(args.password_file, encoding="utf-8") as fh:
            password = fh.read().strip()
    else:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            print("The passwords do not match.", file=sys.stderr)
            return 1
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password)
    except ValidationError as exc:
        print("\n".join(exc.messages), file=sys.stderr)
        return 1
    Member.objects.create_superuser(args.username, password, tier=Tier.TRAINED)
    print(f"Created {args.username}. Two-factor setup is required at first sign-in.")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    _setup_django()
    from vecinos.network.models import ApiToken, Member
    from vecinos.network.services import token_create, token_revoke

    member = Member.objects.filter(username=args.username, is_active=True).first()
    if member is None:
        print(f"No active member called {args.username!r}.", file=sys.stderr)
        return 1
    if args.action == "create":
        if args.days < 0:
            print("--days must be 0 or more.", file=sys.stderr)
            return 1
        issued = token_create(member=member, name=args.name, valid_days=args.days or None)
        print(issued.secret)
        return 0
    if args.action == "list":
        for t in ApiToken.objects.filter(member=member):
            state = "revoked" if t.revoked_at else "expired" if t.is_expired else "active"
            print(f"{t.pk}\t{t.prefix}…\t{t.name}\t{state}")
        return 0
    token = ApiToken.objects.filter(member=member, pk=args.id).first()
    if token is None:
        print("No such token.", file=sys.stderr)
        return 1
    token_revoke(actor=member, token=token)
    print("Revoked.")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    if not args.personal_data:
        print("Say what to purge: --personal-data", file=sys.stderr)
        return 2
    _setup_django()
    if not args.yes:
        if not sys.stdin.isatty():
            print("Refusing without confirmation: pass --yes.", file=sys.stderr)
            return 1
        answer = input(
            "This destroys every member's personal data and cannot be undone.\n"
            "Type PURGE to continue: "
        )
        if answer.strip() != "PURGE":
            print("Nothing was purged.")
            return 1
    from django.db import connection

    from vecinos.purge import purge_everything_personal

    counts = purge_everything_personal()
    if connection.vendor == "sqlite":
        # Deleted rows linger in free pages and the WAL until the file is rewritten.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("VACUUM")
    print("Purged: " + json.dumps(counts))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"No such file: {args.file}", file=sys.stderr)
        return 2
    _setup_django()
    from vecinos.core.tabular import TableError, read_table
    from vecinos.network.models import Organization
    from vecinos.onboarding.imports import ImportRefused, run_import

    organization = Organization.objects.filter(short_name=args.organization).first()
    if organization is None:
        names = ", ".join(Organization.objects.values_list("short_name", flat=True)[:60])
        print(f"No organization with the short name {args.organization!r}.", file=sys.stderr)
        print(f"Short names: {names or '(none yet)'}", file=sys.stderr)
        return 2
    try:
        table = read_table(path.read_bytes())
        result = run_import(
            kind=args.kind, table=table, organization=organization, dry_run=args.dry_run
        )
    except (TableError, ImportRefused) as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for problem in sorted(result.problems, key=lambda p: p.line):
        print(f"line {problem.line}: {problem.outcome}: {problem.reason}", file=sys.stderr)
    if args.dry_run:
        print("dry run: nothing was saved")
    print(result.summary)
    return 0


def cmd_genkey(args: argparse.Namespace) -> int:
    import base64

    print(base64.urlsafe_b64encode(os.urandom(32)).decode())
    return 0


# A worker's own defaults for the embedded database, per connection (an operator's setting
# wins): its reads are a few index lookups per batch, and every page it maps or caches would
# count in its memory (a 50,000-person fan-out touches every delivery row once).
WORKER_SQLITE = {"VECINOS_SQLITE_CACHE_MB": "8", "VECINOS_SQLITE_MMAP_MB": "0"}


def _worker_check_errors() -> list:
    """The system checks a worker needs, at level ERROR and up: all but the URL checks, which
    would import every view (and the PDF and font libraries behind the rights pages) into a
    process that serves no page. `vecinos serve` and `vecinos check` still run them."""
    from django.core import checks

    found = [
        error
        for check in checks.registry.registry.get_checks()
        if checks.Tags.urls not in getattr(check, "tags", ())
        for error in check(app_configs=None, databases=None)
    ]
    return [e for e in found if e.level >= checks.ERROR and not e.is_silenced()]


def cmd_worker(args: argparse.Namespace) -> int:
    for name, value in WORKER_SQLITE.items():
        os.environ.setdefault(name, value)
    _setup_django()
    errors = _worker_check_errors()
    if errors:
        print("System check identified some issues:", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    from django.conf import settings

    if not args.no_periodic:
        # On PostgreSQL: an open delivery missing from the due set (a path around its
        # triggers, such as a data-only restore) would never be sent. One pass at start.
        from vecinos.messaging import dueset

        dueset.restore_missing()

    # Everything loaded so far (Django, the apps, their modules) lives as long as the process:
    # out of the collector's sight, a full collection no longer walks it all again while the
    # sender allocates a few objects per message.
    gc.freeze()
    # Huey's consumer installs its own SIGINT/SIGTERM handling and finishes running tasks.
    _call(
        "run_huey",
        workers=args.threads or settings.WORKER_THREADS,
        worker_type="thread",
        periodic=not args.no_periodic,
    )
    return 0


def _print_banner(url: str) -> None:
    from django.conf import settings

    print(f"\nVecinos is running at {url}/  (Ctrl-C stops the web server and the worker)")
    cred_file = settings.DATA_DIR / "demo-credentials.json"
    if cred_file.exists():
        creds = json.loads(cred_file.read_text())
        print("Demo sign-in (fictional coalition):")
        for username, password in creds.items():
            print(f"  {username} / {password}")
        print(
            "Sign in with one of these; on the two-step page the demo shows the account's "
            "current code (demo only)."
        )
    print(f"Data directory: {settings.DATA_DIR}\n", flush=True)


def _die_with_parent() -> None:
    """Children of `vecinos serve` get SIGTERM if serve itself is killed (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def cmd_serve(args: argparse.Namespace) -> int:
    _setup_django(creates=True)
    from django.conf import settings
    from django.core.management.base import SystemCheckError

    try:
        _call("check", fail_level="ERROR")
    except SystemCheckError as exc:
        print(exc, file=sys.stderr)
        return 1
    _call("migrate", interactive=False, verbosity=0)
    from vecinos.network.models import Organization

    # The fictional demo is for trying Vecinos out: never into a production database.
    if not args.no_demo and not settings.PRODUCTION and not Organization.objects.exists():
        _call("demo")
    from vecinos.onboarding.demo import refresh_if_loaded

    refresh_if_loaded()  # the demo dispatcher and verifier are on duty again
    from vecinos.metrics import clear_stale_files

    clear_stale_files()  # issue 15: counts of processes of an earlier run (before ours start)

    host = args.host
    port = args.port or settings.PORT
    sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite")
    # Two processes use both cores; SQLite writers queue fairly across them (core/sqlite).
    web_workers = args.web_workers or 2
    threads = args.threads or (16 if sqlite else 8)
    env = dict(os.environ)
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "vecinos.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(web_workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--graceful-timeout",
            "5",
            # Tighter than gunicorn's defaults (4094 / 100 / 8190): no page needs more, and every
            # header is memory an anonymous request holds. Bodies are capped by Django's
            # core.bodylimit (gunicorn has no body limit): 413 from the headers alone.
            "--limit-request-line",
            "4094",
            "--limit-request-fields",
            "50",
            "--limit-request-field_size",
            "8190",
            "--log-level",
            "warning",
            "--logger-class",
            "vecinos.core.gunicorn_logger.PrivateLogger",
        ],
        env=env,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads in this process yet
    )
    _print_banner(settings.PUBLIC_URL if settings.PUBLIC_URL else f"http://{host}:{port}")

    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    # The web server answers webhooks (STOP included) whatever happens to the worker: a worker
    # that dies is started again at once, then with a growing pause if it keeps dying.
    workers = args.worker_processes or settings.WORKER_PROCESSES
    supervisor = WorkerSupervisor(env, settings.DATA_DIR / SERVE_STATE, workers, _die_with_parent)
    code = 0
    try:
        while not stopping:
            if web.poll() is not None:
                print("The web server exited; stopping.", file=sys.stderr)
                stopping, code = True, 1
                break
            supervisor.poll()
            time.sleep(0.2)
    finally:
        if web.poll() is None:
            web.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        supervisor.stop(deadline)
        try:
            web.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait()
        supervisor.forget()
    print("Stopped.")
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vecinos", description="Vecinos: community rapid-response network server."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="run the web server and the background worker together")
    p.add_argument("--host", default=os.environ.get("VECINOS_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=None, help="default: $VECINOS_PORT or 8000")
    p.add_argument(
        "--web-workers",
        type=int,
        default=None,
        help="web processes (default: 2)",
    )
    p.add_argument(
        "--threads", type=int, default=None, help="threads per web process (default 16 / 8)"
    )
    p.add_argument(
        "--worker-processes",
        type=int,
        default=None,
        help="background worker processes (default: $VECINOS_WORKER_PROCESSES or 2)",
    )
    p.add_argument("--no-demo", action="store_true", help="do not load the demo coalition")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run a background worker (several may run on several hosts)")
    p.add_argument("--threads", type=int, default=None, help="default: $VECINOS_WORKER_THREADS")
    p.add_argument(
        "--no-periodic",
        action="store_true",
        help="only take work from the queue (another worker of this host runs the periodic tasks)",
    )
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="create or update the database tables")
    p.add_argument("--verbosity", type=int, default=1)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("createadmin", help="create a superuser (two-factor required at sign-in)")
    p.add_argument("username")
    p.add_argument("--password-file", help="read the password from this file instead of asking")
    p.set_defaults(func=cmd_createadmin)

    p = sub.add_parser("demo", help="load the fictional demo coalition (idempotent)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("rights", help="rights library: load the shipped texts into the database")
    p.add_argument("action", choices=["load"])
    p.add_argument("--language", action="append", help="only this language (repeatable)")
    p.set_defaults(func=cmd_rights)

    p = sub.add_parser("check", help="check the configuration (production rules included)")
    p.add_argument("--deploy", action="store_true", help="also run Django's deployment checks")
    p.add_argument("--worker", action="store_true", help="also check a worker runs queued tasks")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for the worker")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("token", help="personal API tokens for partner systems")
    tsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    t = tsub.add_parser("create", help="create a token and print it once")
    t.add_argument("username")
    t.add_argument("--name", required=True, help="what the token is for")
    t.add_argument(
        "--days",
        type=int,
        default=90,
        help="days until the token stops working (default 90; 0 for no end date)",
    )
    t = tsub.add_parser("list", help="list a member's tokens")
    t.add_argument("username")
    t = tsub.add_parser("revoke", help="revoke a token")
    t.add_argument("username")
    t.add_argument("id", type=int)
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("purge", help="emergency purge of personal data")
    p.add_argument("--personal-data", action="store_true", help="destroy all personal data")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("import", help="import members or subscribers from a CSV or XLSX file")
    p.add_argument("kind", choices=["members", "subscribers"])
    p.add_argument("file", help="a .csv or .xlsx file (first row: column names)")
    p.add_argument(
        "--organization", required=True, help="the organization's short name, as the app shows it"
    )
    p.add_argument("--dry-run", action="store_true", help="check and count, save nothing")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("genkey", help="print a new random field-encryption key")
    p.set_defaults(func=cmd_genkey)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from vecinos.core.env import ConfigError

    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    except MissingData as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Exception as exc:
        from django.db import DatabaseError

        if not isinstance(exc, DatabaseError):
            raise
        print(
            f"The database cannot be used ({exc}). Check VECINOS_DATABASE_URL or "
            "VECINOS_DATA_DIR, and run `vecinos migrate` if it was never set up.",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
