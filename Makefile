# Two commands do all the set-up: `make book` and `make test` (see README).
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

.PHONY: book test dryrun lint clean-book

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[book,test]'
	@touch $(STAMP)

# The book executes every notebook in the `book` profile (CALOPAPER_PROFILE overrides it).
# book/_config.yml and book/_toc.yml link to the root files, so this is the plain
# `jupyter-book build book` with warnings as errors.
# MPLBACKEND is unset: a non-inline backend silently drops every figure from the book.
book: $(STAMP)
	env -u MPLBACKEND PATH="$(CURDIR)/$(BIN):$$PATH" \
		$(BIN)/jupyter-book build --all -W --keep-going book
	@echo "The book is at $(CURDIR)/book/_build/html/index.html"

test: $(STAMP)
	$(BIN)/ruff check calopaper tests book conftest.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

# Every chapter in the paper profile's dry run (CALOPAPER_DRYRUN=1): paper-sized models, tiny data,
# two optimisation steps, a temporary store. CI runs it after `make test`.
dryrun: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m paper_dryrun -n 0 -s tests/test_paper_profile.py

lint: $(STAMP)
	$(BIN)/ruff check calopaper tests book conftest.py
	$(BIN)/ruff format --check calopaper tests book conftest.py

clean-book:
	rm -rf book/_build
