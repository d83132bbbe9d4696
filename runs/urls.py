from django.urls import path

from . import views
from .operations import operations

app_name = "runs"

urlpatterns = [
    path("", views.history, name="history"),
    path("runs/new/", views.new_run, name="new"),
    path("runs/operations.css", views.operations_css, name="operations_css"),
    path("runs/<str:run_id>/", views.run_detail, name="detail"),
    path("runs/<str:run_id>/cancel/", views.cancel_run, name="cancel"),
    path("runs/<str:run_id>/retry/", views.retry_run, name="retry"),
    path("runs/<str:run_id>/export.<str:fmt>", views.export, name="export"),
    path("runs/<str:run_id>/batches/<int:index>/", views.batch_detail, name="batch"),
    path("compare/", views.compare, name="compare"),
]
# Each operation's own pages and form targets (an operation's package, not this app, knows them).
for _operation in operations():
    urlpatterns += _operation.presentation.urls()
