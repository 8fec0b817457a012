from django.contrib.auth import views as auth_views
from django.urls import path

urlpatterns = [
    path("signin/", auth_views.LoginView.as_view(), name="login"),
    path("signout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", auth_views.LoginView.as_view(), name="home"),
    path("2fa/setup/", auth_views.LoginView.as_view(), name="two_factor_setup"),
    path("2fa/verify/", auth_views.LoginView.as_view(), name="two_factor_verify"),
]
