from django.urls import path

from vecinos.maps import views

urlpatterns = [
    path("tiles/<str:name>", views.map_tiles, name="map_tiles"),
]
