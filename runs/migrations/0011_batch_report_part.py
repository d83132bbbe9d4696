# A verified batch keeps its share of the report (Checked.part), made by its own worker, so that the report
# after the last batch only merges the shares. Batches verified before have none: their runs' reports are
# composed from the item rows, as before.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('runs', '0010_batch_mode'),
    ]

    operations = [
        migrations.AddField(
            model_name='batch',
            name='report_part',
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
