"""Django admin for superusers. Personal fields (names, phones, emails, notes) are left out on
purpose: contact details are shown only through the app's audited "show" action."""

from django.contrib import admin

from vecinos.network.models import Member, Membership, Organization, Zone


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("username", "tier", "is_active", "is_staff", "date_joined")
    list_filter = ("tier", "is_active", "is_staff")
    search_fields = ("username",)
    fields = (
        "username",
        "tier",
        "is_active",
        "is_staff",
        "is_superuser",
        "preferred_language",
        "languages",
        "date_joined",
    )
    readonly_fields = ("date_joined",)
    inlines = [MembershipInline]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "short_name")
    fields = ("name", "short_name", "languages")
    search_fields = ("name", "short_name")


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "organization")
    list_filter = ("kind",)
    search_fields = ("name",)
    exclude = ("cells",)
