"""The supervisors' console: accounts, modes, calls, agents, DNC, mode types."""

from django.contrib import admin

from lcm.models import Account, Agent, Call, ContactMode, DoNotCallNumber, ModeType


@admin.register(ModeType)
class ModeTypeAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "channel_type", "min_length", "max_length"]
    list_filter = ["channel_type"]
    search_fields = ["name"]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["agent_id", "user", "is_logged_in", "logged_in_changed_at"]
    list_filter = ["is_logged_in"]
    search_fields = ["agent_id", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


class ContactModeInline(admin.TabularInline):
    model = ContactMode
    fields = ["mode_type", "number", "number_e164", "has_consent", "changed_at", "changed_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "live modes"
    ordering = ["mode_type_id"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at=None).select_related("mode_type")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["account_number", "first_name", "last_name", "campaign", "created_at"]
    list_filter = ["campaign"]
    search_fields = ["=account_number", "last_name", "first_name", "=modes__number"]
    inlines = [ContactModeInline]


@admin.register(ContactMode)
class ContactModeAdmin(admin.ModelAdmin):
    list_display = ["account", "mode_type", "number", "has_consent", "changed_at", "deleted_at"]
    list_filter = ["mode_type", "has_consent", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["=number", "=account__account_number"]
    list_select_related = ["account", "mode_type"]
    raw_id_fields = ["account"]

    # Numbers change only through lcm.services (validated, locked, audited).
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["callid", "account", "agent", "state", "started_at", "ended_at"]
    list_filter = ["state", ("started_at", admin.DateFieldListFilter)]
    search_fields = ["=callid", "=account__account_number", "=agent__agent_id"]
    list_select_related = ["account", "agent"]
    raw_id_fields = ["account", "agent"]


@admin.register(DoNotCallNumber)
class DoNotCallNumberAdmin(admin.ModelAdmin):
    list_display = ["number", "reason", "added_at"]
    search_fields = ["=number"]
