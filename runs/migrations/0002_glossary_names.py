# The glossary's words (docs/glossary.md): renames only, so existing databases keep their data.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="run", old_name="inputs", new_name="params"),
        migrations.AlterField(
            model_name="run",
            name="params",
            field=models.JSONField(default=dict, help_text="what the user asked the run to do, normalised"),
        ),
        migrations.RenameField(model_name="batch", old_name="items", new_name="inputs"),
        migrations.RenameField(model_name="batch", old_name="label", new_name="role"),
        migrations.RenameField(model_name="itemresult", old_name="tier", new_name="group"),
        migrations.RenameField(model_name="itemresult", old_name="signals", new_name="data"),
    ]
