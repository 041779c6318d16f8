# The single entry point. `make preview` renders the bundled example preview;
# `make test` runs every linter and every test. Both set everything up first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The repository is the Ansible collection nomad_previews.previews; Ansible finds it through this link.
COLLECTION_LINK := build/collections/ansible_collections/nomad_previews/previews

EXAMPLE ?= examples/sidekiq/preview.yml
REPO    ?= shop
PR      ?= 42

.PHONY: setup preview test lint unit lock clean

setup: $(STAMP) $(COLLECTION_LINK)

$(STAMP): requirements.txt images/inbox/pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e images/inbox
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

preview: setup
	$(BIN)/ansible-playbook playbooks/preview_open.yml -e @$(EXAMPLE) -e preview_repo=$(REPO) -e preview_pr=$(PR)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p ansible_collections.nomad_previews.previews.plugins
	$(BIN)/mypy images/inbox/preview_inbox
	MYPYPATH=images/inbox:images/inbox/tests $(BIN)/mypy images/inbox/tests
	$(BIN)/yamllint --strict .
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/ansible-lint

unit: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest tests/unit

test: lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest

lock:
	rm -rf build/lock-venv
	$(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet -r requirements.in
	{ head -n 2 requirements.txt; build/lock-venv/bin/python -m pip freeze --exclude-editable; } > requirements.txt.new
	mv requirements.txt.new requirements.txt

clean:
	rm -rf $(VENV) build
