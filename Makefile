# compkit: `make review` and `make test` set everything up on a fresh machine (Python 3.11+ required).
# The environment is a local virtualenv in .venv, (re)built when it is missing or pyproject.toml changed.

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.compkit-installed
YEAR    ?= 2025
POLICY  ?= data/policies/2025.yaml
CANDIDATE ?= data/policies/2026.yaml
DATA    ?= data/sample
OUT     ?= reports/$(YEAR)

.PHONY: env lint test unit nbval notebooks review statements appeal lab sample bench clean-env locale

env: $(STAMP)

$(STAMP): pyproject.toml
	@echo "==> creating the compkit environment in $(VENV) (first run takes a few minutes)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e ".[dask]"
	@$(PY) -m ipykernel install --sys-prefix --name compkit --display-name "Python (compkit)" >/dev/null
	@touch $(STAMP)
	@echo "==> environment ready"

lint: $(STAMP)
	@$(VENV)/bin/ruff check compkit tests benchmarks

test: $(STAMP) lint
	@$(PY) -m pytest tests -q
	@$(PY) -m pytest -q --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg notebooks

unit: $(STAMP)
	@$(PY) -m pytest tests -q

nbval: $(STAMP)
	@$(PY) -m pytest -q --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg notebooks

notebooks: $(STAMP)
	@for nb in notebooks/*.ipynb; do echo "refreshing $$nb"; $(PY) -c "from compkit.report import refresh_notebook; refresh_notebook('$$nb')"; done

review: $(STAMP)
	@$(VENV)/bin/compkit review --year $(YEAR) --policy $(POLICY) --candidate $(CANDIDATE) --data $(DATA) --out $(OUT)

# per-employee statements and the appeals run on the sample go to private/ (git-ignored, never under reports/)
statements: $(STAMP)
	@$(VENV)/bin/compkit statements --policy $(POLICY) --data $(DATA) --out private/statements

appeal: $(STAMP)
	@$(VENV)/bin/compkit appeal --policy $(POLICY) --data $(DATA) --out private/appeals

lab: $(STAMP)
	@$(VENV)/bin/jupyter lab notebooks

sample: $(STAMP)
	@$(VENV)/bin/compkit sample --managers 1000 --year 2025 --seed 2025 --out data/sample

# re-extract the messages people read (Python and templates) and update the catalogs; then translate the new
# msgids in compkit/locale/*/LC_MESSAGES/compkit.po (compkit compiles the .po when it is used: no build step)
# (a template that differs only in its creation date is not replaced: on an unchanged tree nothing changes)
locale: $(STAMP)
	@$(VENV)/bin/pybabel extract -F compkit/locale/babel.cfg -k N_ -k M_ -k _ --no-location --sort-output \
		--project compkit -o compkit/locale/compkit.pot.new .
	@$(PY) -c "from compkit.i18n import settle_template; settle_template()"
	@$(VENV)/bin/pybabel update -i compkit/locale/compkit.pot -d compkit/locale -D compkit \
		--no-fuzzy-matching --ignore-obsolete

# the performance figures of issue 20 in one table (about 15 minutes at 100,000 managers; data kept in .bench/)
bench: $(STAMP)
	@$(PY) benchmarks/bench.py --cache .bench

clean-env:
	rm -rf $(VENV)
