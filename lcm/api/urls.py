from django.urls import path

from .views import WebServiceView

app_name = "lcm-api"

urlpatterns = [
    path("webservice/", WebServiceView.as_view(), name="webservice"),
]
