from django.http import JsonResponse
from django.urls import NoReverseMatch, path, re_path, register_converter, reverse
from django.urls.converters import PathConverter
from django.views.decorators.csrf import csrf_exempt

from lcm import errors

from .as_of import AccountAsOf, CallAsDialled
from .audit import CheckpointConsistency, ModeChangeExport, ModeChangeList, ModeChangeProof
from .callbacks import CancelCallbackView, DoneCallbackView, DueCallbacksView
from .export_jobs import ExportFileView, ExportListView, ExportResumeView, ExportView
from .import_jobs import ImportListView, ImportRejectedView, ImportView
from .intake import AgentLoginView, AgentLogoutView, EndCallView, RegisterCallView, WrapUpCallView
from .views import WebServiceView


class AnyTextConverter(PathConverter):
    """Like `path`, and newlines too: Django's `.+` stops at one, which
    turned a callid holding a newline into an HTML 404 instead of the
    endpoint's own JSON answer."""

    regex = r"[\s\S]+"


register_converter(AnyTextConverter, "text")


@csrf_exempt
def unknown_endpoint(request, rest=""):
    """Every other URL under lcm's prefix (and, in our project, under /api/)
    is a JSON 404, never Django's page, for every method: exempt from the
    CSRF check, as it changes nothing and the API's clients send tokens, not
    cookies (a POST here was Django's HTML "CSRF verification failed" page,
    even with a valid token)."""
    try:  # the project's docs page, when it serves one (ours: config/urls.py)
        docs_url = reverse("api-docs")
    except NoReverseMatch:
        docs_url = None
    error = errors.UnknownEndpoint(request.path, docs_url)
    return JsonResponse({"code": error.code, "message": error.message}, status=error.status)


app_name = "lcm-api"

urlpatterns = [
    path("webservice/", WebServiceView.as_view(), name="webservice"),
    # The import door (lcm.api.import_jobs): background jobs.
    path("imports/", ImportListView.as_view(), name="imports"),
    path("imports/<text:job_id>/rejected/", ImportRejectedView.as_view(), name="import-rejected"),
    path("imports/<text:job_id>/", ImportView.as_view(), name="import"),
    # The export door (lcm.api.export_jobs): background jobs.
    path("exports/", ExportListView.as_view(), name="exports"),
    path("exports/<text:job_id>/file/", ExportFileView.as_view(), name="export-file"),
    path("exports/<text:job_id>/resume/", ExportResumeView.as_view(), name="export-resume"),
    path("exports/<text:job_id>/", ExportView.as_view(), name="export"),
    path("mode-changes/", ModeChangeList.as_view(), name="mode-changes"),
    path("mode-changes/export/", ModeChangeExport.as_view(), name="mode-changes-export"),
    path("mode-changes/<text:seq>/proof/", ModeChangeProof.as_view(), name="mode-change-proof"),
    path(
        "checkpoints/consistency/", CheckpointConsistency.as_view(), name="checkpoint-consistency"
    ),
    # As-of reads (lcm.api.as_of), for auditors and supervisors.
    path("accounts/<text:key>/as-of/", AccountAsOf.as_view(), name="account-as-of"),
    path("calls/<text:callid>/as-dialled/", CallAsDialled.as_view(), name="call-as-dialled"),
    # The dialer/CTI doors (lcm.api.intake).
    path("calls/", RegisterCallView.as_view(), name="calls"),
    path("calls/<text:callid>/wrapup/", WrapUpCallView.as_view(), name="call-wrapup"),
    path("calls/<text:callid>/end/", EndCallView.as_view(), name="call-end"),
    path("agents/<text:agent_id>/login/", AgentLoginView.as_view(), name="agent-login"),
    path("agents/<text:agent_id>/logout/", AgentLogoutView.as_view(), name="agent-logout"),
    # The dialer's side of callbacks (lcm.api.callbacks).
    path("callbacks/due/", DueCallbacksView.as_view(), name="callbacks-due"),
    path("callbacks/<text:callback_id>/done/", DoneCallbackView.as_view(), name="callback-done"),
    path(
        "callbacks/<text:callback_id>/cancel/",
        CancelCallbackView.as_view(),
        name="callback-cancel",
    ),
    re_path(r"^(?P<rest>[\s\S]*)$", unknown_endpoint, name="unknown-endpoint"),
]
