# Transcripts as rows: each entry of a batch's transcript (a JSON list on the batch, rewritten whole on
# every turn) becomes a TranscriptEntry of the batch's current attempt, in order; then the list goes.

import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models


def transcripts_to_rows(apps, schema_editor):
    Batch = apps.get_model("runs", "Batch")
    TranscriptEntry = apps.get_model("runs", "TranscriptEntry")
    for batch in Batch.objects.exclude(transcript=[]).only("id", "attempts", "transcript").iterator():
        TranscriptEntry.objects.bulk_create(
            TranscriptEntry(
                batch_id=batch.id,
                attempt=max(batch.attempts, 1),
                sequence=n,
                role=str(entry.get("role", "?"))[:20] if isinstance(entry, dict) else "?",
                content={k: v for k, v in entry.items() if k != "role"} if isinstance(entry, dict) else {},
            )
            for n, entry in enumerate(batch.transcript or [], start=1)
        )


def rows_to_transcripts(apps, schema_editor):
    Batch = apps.get_model("runs", "Batch")
    TranscriptEntry = apps.get_model("runs", "TranscriptEntry")
    for batch in Batch.objects.only("id", "attempts"):
        entries = TranscriptEntry.objects.filter(batch_id=batch.id, attempt=max(batch.attempts, 1))
        batch.transcript = [{"role": e.role, **e.content} for e in entries.order_by("sequence")]
        batch.save(update_fields=["transcript"])


class Migration(migrations.Migration):

    dependencies = [
        ('runs', '0005_heartbeats'),
    ]

    operations = [
        migrations.CreateModel(
            name='TranscriptEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('attempt', models.PositiveIntegerField()),
                ('sequence', models.PositiveIntegerField(help_text='order within its attempt, from 1')),
                ('role', models.CharField(help_text='system, user, assistant or error', max_length=20)),
                ('content', models.JSONField(default=dict, help_text='the entry as the agent loop gave it, but its role')),
                ('created', models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                ('batch', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='transcript_entries', to='runs.batch')),
            ],
            options={
                'ordering': ['batch', 'attempt', 'sequence'],
                'constraints': [models.UniqueConstraint(fields=('batch', 'attempt', 'sequence'), name='unique_transcript_entry')],
            },
        ),
        migrations.RunPython(transcripts_to_rows, rows_to_transcripts),
        migrations.RemoveField(
            model_name='batch',
            name='transcript',
        ),
    ]
