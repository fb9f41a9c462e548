from django.urls import path

from .audit import ModeChangeList
from .intake import AgentLoginView, AgentLogoutView, EndCallView, RegisterCallView, WrapUpCallView
from .views import WebServiceView

app_name = "lcm-api"

urlpatterns = [
    path("webservice/", WebServiceView.as_view(), name="webservice"),
    path("mode-changes/", ModeChangeList.as_view(), name="mode-changes"),
    # The dialer/CTI doors (lcm.api.intake).
    path("calls/", RegisterCallView.as_view(), name="calls"),
    path("calls/<path:callid>/wrapup/", WrapUpCallView.as_view(), name="call-wrapup"),
    path("calls/<path:callid>/end/", EndCallView.as_view(), name="call-end"),
    path("agents/<str:agent_id>/login/", AgentLoginView.as_view(), name="agent-login"),
    path("agents/<str:agent_id>/logout/", AgentLogoutView.as_view(), name="agent-logout"),
]
