from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from vecinos.api import api
from vecinos.core import views as core_views
from vecinos.metrics import metrics_view
from vecinos.onboarding import views_public

handler403 = "vecinos.core.views.permission_denied"
handler404 = "vecinos.core.views.page_not_found"
handler500 = "vecinos.core.views.server_error"

urlpatterns = [
    path("", views_public.home, name="public_home"),
    path("joining/<str:token>/", views_public.import_join, name="import_join"),
    path("healthz", core_views.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("coalition.css", core_views.coalition_css, name="coalition_css"),
    path("coalition-logo.png", core_views.coalition_logo, name="coalition_logo"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("hooks/", include("vecinos.messaging.urls")),
    path("", include("vecinos.maps.urls")),
    path("", include("vecinos.alerts.urls")),
    path("patrols/", include("vecinos.patrols.urls")),
    path("orgs/", include("vecinos.onboarding.urls")),
    path("rights/", include("vecinos.rights.urls")),
    path("", include("vecinos.mobilize.urls")),
    path("", include("vecinos.reports.urls")),
    path("", include("vecinos.network.urls")),
]

if not settings.PRODUCTION:
    # The phone simulator exists only outside production (and only with the console transport).
    from vecinos.onboarding import views_dev

    urlpatterns.insert(0, path("dev/phone/", views_dev.phone_simulator, name="phone_simulator"))
