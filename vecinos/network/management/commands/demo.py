from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from vecinos.network.demo import COORDINATOR, credentials_path, load_demo


class Command(BaseCommand):
    help = (
        "Load a fictional demo coalition (organizations, ~200 members, Los Angeles zones) and "
        "print the demo accounts' passwords. Safe to run again: once loaded, nothing changes."
    )

    def handle(self, *args, **options):
        result = load_demo(stdout=self.stdout)
        counts = result.counts
        if result.created:
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        else:
            self.stdout.write("Demo data already exists; nothing was changed.")
        self.stdout.write(
            f"In the database: {counts['organizations']} organizations, {counts['zones']} zones, "
            f"{counts['members']} members ({counts['tier_new']} new, {counts['tier_vouched']} "
            f"vouched, {counts['tier_trained']} trained), {counts['memberships']} roles, "
            f"{counts['vouches']} vouches, {counts['trainings']} trainings."
        )
        if not result.credentials:
            self.stdout.write(
                self.style.WARNING(
                    f"No demo passwords found in {credentials_path()}; "
                    f"set one with: manage.py changepassword {COORDINATOR}"
                )
            )
            return
        self.stdout.write(f"Demo accounts (also saved in {credentials_path()}):")
        width = max(map(len, result.credentials), default=0) + 2
        for username, password in result.credentials.items():
            self.stdout.write(f"  {username:<{width}}{password}")
        password = result.credentials.get(COORDINATOR, "")
        self.stdout.write(
            f"Sign in at {settings.PUBLIC_URL}/signin/ as {COORDINATOR} / {password}. "
            "Coordinators set up two-factor on first sign-in."
        )
