from django.urls import path

from . import views

app_name = "runs"

urlpatterns = [
    path("", views.history, name="history"),
    path("runs/<str:run_id>/", views.run_detail, name="detail"),
    path("runs/<str:run_id>/batches/<int:index>/", views.batch_detail, name="batch"),
]
