from django.core.management.base import BaseCommand, CommandError

from vecinos.rights import content, services


class Command(BaseCommand):
    help = "Rights library: load the shipped texts (vecinos/rights/content/*.txt)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["load"])
        parser.add_argument("--language", action="append", dest="languages", default=None)

    def handle(self, *args, action: str, languages=None, **options):
        unknown = sorted(set(languages or []) - set(content.available()))
        if unknown:
            raise CommandError(f"no content file for: {', '.join(unknown)}")
        counts = services.load_content(language_codes=languages)
        self.stdout.write(
            f"articles created: {counts['articles']}, new versions: {counts['versions']}, "
            f"unchanged or edited in the app: {counts['kept']}"
        )
