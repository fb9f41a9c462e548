from django.urls import path

from .audit import ModeChangeList
from .views import WebServiceView

app_name = "lcm-api"

urlpatterns = [
    path("webservice/", WebServiceView.as_view(), name="webservice"),
    path("mode-changes/", ModeChangeList.as_view(), name="mode-changes"),
]
