# Bedside — two commands do everything on a fresh Debian/Ubuntu machine:
#   make demo   install what is missing, generate the demo data, run the whole pipeline
#   make test   install what is missing, run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
DEMO_DIR ?= resources/demo
APT_PACKAGES := bwa samtools bcftools tabix fastp mosdepth freebayes art-nextgen-simulation-tools \
                libhts-dev poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
                fonts-dejavu-core fonts-noto-cjk python3-venv chromium cnvkit delly \
                openjdk-17-jre-headless slurm-wlm munge
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := $(VENV)/bin

.PHONY: install install-system install-python demo demo-data test test-fast lint bench clean

install: install-system install-python

install-system:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing missing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BIN)/bedside: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/bedside

install-python: $(BIN)/bedside

demo-data: install $(DEMO_DIR)/MANIFEST.json

# rebuilt when the generator changes (the demo genome, patients or biomarkers)
$(DEMO_DIR)/MANIFEST.json: $(wildcard src/bedside/demo/*.py)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/bedside demo-data $(DEMO_DIR)

demo: demo-data
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --cores $(CORES) --workflow-profile profiles/local
	@echo "Reports: results/<patient>/report.html (open offline), report.json, report.pdf; cohort: results/cohort/"

test: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/pytest -ra

test-fast: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/pytest -ra -m "not e2e and not slow"

lint: install demo-data
	$(BIN)/snakemake --lint --snakefile workflow/Snakefile
	$(BIN)/snakefmt --check workflow/
	$(BIN)/ruff check src tests benchmarks

bench: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/run_all.py

clean:
	rm -rf results logs .snakemake $(DEMO_DIR) resources/reference
	find benchmarks -mindepth 1 -maxdepth 1 -type d ! -name out -exec rm -rf {} +
