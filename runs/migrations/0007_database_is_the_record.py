# The database is the record: a verified batch's output (and its sha256) is saved with the batch, a run's
# prepared inputs are RunFile rows, and paths are relative to the run's scratch folder (each host has its
# own). Existing runs keep what this host's scratch folder still holds: output paths are made relative,
# verified outputs and prepared inputs are read in (each within the output bound, as valid text); then
# the absolute scratch_dir and report_path go.

import hashlib
from pathlib import Path

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _text(path: Path) -> str | None:
    """The file's text if it is a regular file within the output bound, valid UTF-8 with no NUL."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > settings.ERKWEB_OUTPUT_MAX_BYTES:
            return None
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return None if "\x00" in text else text


def to_the_record(apps, schema_editor):
    Run = apps.get_model("runs", "Run")
    Batch = apps.get_model("runs", "Batch")
    RunFile = apps.get_model("runs", "RunFile")
    for run in Run.objects.only("id", "scratch_dir").iterator():
        scratch = Path(run.scratch_dir) if run.scratch_dir else None
        batches = list(Batch.objects.filter(run_id=run.id).only("id", "status", "output_path", "inputs"))
        for batch in batches:
            path = Path(batch.output_path)
            if scratch is not None and path.is_absolute() and path.is_relative_to(scratch):
                batch.output_path = path.relative_to(scratch).as_posix()
            if batch.status == "verified" and scratch is not None:
                text = _text(scratch / batch.output_path)
                if text is not None:
                    batch.output = text
                    batch.output_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
            batch.save(update_fields=["output_path", "output", "output_sha256"])
        if scratch is None:
            continue
        outputs = {b.output_path for b in batches}
        prepared = {rel for b in batches for rel in (b.inputs or []) if isinstance(rel, str)} - outputs
        for rel in sorted(prepared):
            if Path(rel).is_absolute() or ".." in Path(rel).parts:
                continue
            text = _text(scratch / rel)
            if text is not None:  # audit-scan's inputs are docs, not in the scratch folder: none found
                RunFile.objects.get_or_create(run_id=run.id, path=rel, defaults={"content": text})


def from_the_record(apps, schema_editor):
    Run = apps.get_model("runs", "Run")
    Batch = apps.get_model("runs", "Batch")
    for run in Run.objects.only("id", "run_id"):
        scratch = settings.SCRATCH_DIR / run.run_id
        run.scratch_dir = str(scratch)
        run.save(update_fields=["scratch_dir"])
        for batch in Batch.objects.filter(run_id=run.id).only("id", "output_path"):
            if not Path(batch.output_path).is_absolute():
                batch.output_path = str(scratch / batch.output_path)
                batch.save(update_fields=["output_path"])


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0006_transcript_entries"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="itemresult",
            options={"ordering": ["run", "position", "id"]},
        ),
        migrations.AddField(
            model_name="batch",
            name="output",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="batch",
            name="output_sha256",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="batch",
            name="output_path",
            field=models.CharField(help_text="relative to the run's scratch folder", max_length=500),
        ),
        migrations.CreateModel(
            name="RunFile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("path", models.CharField(help_text="relative to the run's scratch folder", max_length=500)),
                ("content", models.TextField()),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="files", to="runs.run"
                    ),
                ),
            ],
            options={
                "ordering": ["run", "path"],
                "constraints": [models.UniqueConstraint(fields=("run", "path"), name="unique_file_per_run")],
            },
        ),
        migrations.RunPython(to_the_record, from_the_record),
        migrations.RemoveField(
            model_name="run",
            name="report_path",
        ),
        migrations.RemoveField(
            model_name="run",
            name="scratch_dir",
        ),
    ]
