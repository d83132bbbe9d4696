# The history stays fast at any size: what it lists is stored on the run when it ends (its items and
# their groups), the search is an index of word starts (RunSearchTerm), and the filters and the order are
# indexes. Existing runs get their counts (a succeeded run's items, as Run.listing counts them) and their
# search terms here.

import django.db.models.deletion
import django.utils.timezone
import runs.models.search
from django.db import migrations, models
from django.db.models import Count

# Frozen here as they were when this migration was written (a migration must not change with the code):
# the params the operations' presentations searched then, and the word starts of runs/models/search.py.
SEARCH_PARAMS = ("docs_root", "from_run", "repo_root", "title")
TERM_MAX = 200


def terms_of(texts):
    terms = set()
    for text in texts:
        text = text.lower()
        if text.strip():
            terms.add(text[:TERM_MAX])
        for i, char in enumerate(text):
            if char.isalnum() and (i == 0 or not text[i - 1].isalnum()):
                terms.add(text[i : i + TERM_MAX])
    return terms


def search_texts(run_id, params):
    return [run_id, *(params[n] for n in SEARCH_PARAMS if isinstance(params.get(n), str))]


def fill_listings_and_terms(apps, schema_editor):
    Run = apps.get_model("runs", "Run")
    ItemResult = apps.get_model("runs", "ItemResult")
    RunSearchTerm = apps.get_model("runs", "RunSearchTerm")
    counts: dict[int, dict[str, int]] = {}
    per_group = ItemResult.objects.filter(run__status="succeeded").values_list("run_id", "group")
    for run_pk, group, n in per_group.annotate(n=Count("id")).order_by():
        counts.setdefault(run_pk, {})[group] = n
    for run_pk, groups in counts.items():
        Run.objects.filter(pk=run_pk).update(item_count=sum(groups.values()), group_counts=groups)
    terms = []
    for run in Run.objects.only("id", "run_id", "params").iterator():
        terms += [RunSearchTerm(run_id=run.pk, term=t) for t in terms_of(search_texts(run.run_id, run.params))]
        if len(terms) >= 5000:
            RunSearchTerm.objects.bulk_create(terms, ignore_conflicts=True)
            terms = []
    RunSearchTerm.objects.bulk_create(terms, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ('runs', '0008_budgets'),
    ]

    operations = [
        migrations.CreateModel(
            name='RunSearchTerm',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('term', runs.models.search.ByteOrderCharField(db_index=True, max_length=200)),
            ],
        ),
        migrations.AddField(
            model_name='run',
            name='group_counts',
            field=models.JSONField(default=dict),
        ),
        migrations.AddField(
            model_name='run',
            name='item_count',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='run',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name='run',
            name='model',
            field=models.CharField(help_text='alias or id as the user gave it', max_length=40),
        ),
        migrations.AlterField(
            model_name='run',
            name='operation',
            field=models.CharField(max_length=40),
        ),
        migrations.AlterField(
            model_name='run',
            name='status',
            field=models.CharField(choices=[('pending', 'pending'), ('running', 'running'), ('aggregating', 'aggregating'), ('succeeded', 'succeeded'), ('failed', 'failed'), ('cancelled', 'cancelled')], default='pending', max_length=20),
        ),
        migrations.AddIndex(
            model_name='run',
            index=models.Index(fields=['-created_at', '-id'], name='run_newest'),
        ),
        migrations.AddIndex(
            model_name='run',
            index=models.Index(fields=['status', '-created_at', '-id'], name='run_status_newest'),
        ),
        migrations.AddIndex(
            model_name='run',
            index=models.Index(fields=['operation', '-created_at', '-id'], name='run_operation_newest'),
        ),
        migrations.AddIndex(
            model_name='run',
            index=models.Index(fields=['model', '-created_at', '-id'], name='run_model_newest'),
        ),
        migrations.AddField(
            model_name='runsearchterm',
            name='run',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='search_terms', to='runs.run'),
        ),
        migrations.AddConstraint(
            model_name='runsearchterm',
            constraint=models.UniqueConstraint(fields=('run', 'term'), name='unique_term_per_run'),
        ),
        migrations.RunPython(fill_listings_and_terms, migrations.RunPython.noop),
    ]
