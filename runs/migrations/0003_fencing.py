# Fencing: a batch's attempts are numbered claims, each remembering its worker; the run gets the lease its
# aggregation holds, and an index on status for the driver's sweep.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0002_glossary_names"),
    ]

    operations = [
        migrations.RenameField(model_name="batch", old_name="deliveries", new_name="claims"),
        migrations.AlterField(
            model_name="batch",
            name="claims",
            field=models.PositiveIntegerField(default=0, help_text="claims since it was last enqueued"),
        ),
        migrations.AlterField(
            model_name="batch",
            name="attempts",
            field=models.PositiveIntegerField(
                default=0, help_text="the current attempt's number: claims over all retries (the fence)"
            ),
        ),
        migrations.AddField(
            model_name="batch",
            name="worker",
            field=models.CharField(
                blank=True, help_text="the worker the current attempt runs on", max_length=200
            ),
        ),
        migrations.AddField(
            model_name="run",
            name="lease_owner",
            field=models.CharField(blank=True, help_text="who aggregates the run", max_length=200),
        ),
        migrations.AddField(
            model_name="run",
            name="lease_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="run",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "pending"),
                    ("running", "running"),
                    ("aggregating", "aggregating"),
                    ("succeeded", "succeeded"),
                    ("failed", "failed"),
                    ("cancelled", "cancelled"),
                ],
                db_index=True,
                default="pending",
                max_length=20,
            ),
        ),
    ]
