"""Settings for the intake benchmark's server only: Vecinos' own settings, plus one URL that
answers a minimal Django view (bench/_baseline_urls.py). bench/intake.py starts `vecinos serve`
with these (DJANGO_SETTINGS_MODULE, bench/ on PYTHONPATH); they are not in the vecinos package,
so no installed Vecinos can ever serve that URL."""

from vecinos.settings import *  # noqa: F403

ROOT_URLCONF = "_baseline_urls"
