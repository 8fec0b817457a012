from django.contrib import admin

from vecinos.mobilize.models import CalloutRole


@admin.register(CalloutRole)
class CalloutRoleAdmin(admin.ModelAdmin):
    list_display = ("key", "names", "order", "active")
    list_editable = ("order", "active")
