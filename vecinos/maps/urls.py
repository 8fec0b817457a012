from django.urls import path

from vecinos.maps import views

urlpatterns = [
    path("tiles/<str:name>", views.map_tiles, name="map_tiles"),
    path("map/", views.public_map, name="public_map"),
    path("map/data.json", views.public_map_data, name="public_map_data"),
    path("console/map.json", views.console_map_data, name="console_map_data"),
    path("alerts/reach.json", views.alert_reach, name="alert_reach"),
    path("zones/edit/", views.zone_list, name="zone_list"),
    path("zones/edit/new/", views.zone_edit, name="zone_new"),
    path("zones/edit/<int:zone_id>/", views.zone_edit, name="zone_edit"),
]
