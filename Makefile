# The two commands a user needs: `make run` and `make test`. Both set everything up on first use.
.PHONY: run test lint format bench bench-scale bench-docs setup browsers clean

VENV_PY := .venv/bin/python

setup:
	@scripts/bootstrap

run: setup
	$(VENV_PY) manage.py up

test: setup
	$(VENV_PY) -m ruff check .
	$(VENV_PY) -m ruff format --check .
	$(VENV_PY) -m mypy
	$(VENV_PY) manage.py makemigrations --check --dry-run
	@scripts/ensure-chromium
	$(VENV_PY) -m pytest

lint: setup
	$(VENV_PY) -m ruff check --fix .
	$(VENV_PY) -m ruff format .

bench: setup
	$(VENV_PY) bench/audit_scan.py

# erkweb at scale (README "Scale"): the history at 10,000 runs, the poll at 100 batches.
bench-scale: setup
	$(VENV_PY) bench/scale.py

# The audit loop's history pages at 100 and 1,000 scans of one docs root (README "Scale").
bench-docs: setup
	$(VENV_PY) bench/docs_history.py

clean:
	rm -rf .venv var .pytest_cache
