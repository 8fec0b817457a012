from django.urls import path

from vecinos.maps import views

urlpatterns = [
    path("tiles/<str:name>", views.map_tiles, name="map_tiles"),
    path("map/", views.public_map, name="public_map"),
    path("map/data.json", views.public_map_data, name="public_map_data"),
    path("console/map.json", views.console_map_data, name="console_map_data"),
    path("alerts/reach.json", views.alert_reach, name="alert_reach"),
]
