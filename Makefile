# Two commands for a fresh machine:
#   make run    install everything into .venv and start the app on http://localhost:8501
#               (this machine only; `make run ADDRESS=0.0.0.0` serves a team on the network);
#               it first says how to add the team's first coordinator, while there is none
#   make test   install what the tests need into .venv and run the whole suite
#   make test-fast  the tier to run while you work: no browser, PostgreSQL or fresh interpreters
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
ADDRESS ?= 127.0.0.1

.PHONY: run test test-fast bench train clean

run: $(VENV)/.runtime
	$(PY) -m emotionet team setup
	$(PY) -m streamlit run streamlit_app.py --server.port $(PORT) --server.address $(ADDRESS)

test: $(VENV)/.dev
	bash ci/test.sh

# markers: pyproject.toml; which tests carry them: tests/conftest.py
test-fast: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not browser and not pg and not subprocess"

bench: $(VENV)/.runtime
	$(PY) bench/analyze_speed.py

train: $(VENV)/.runtime
	$(PY) train.py

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps musicnn==0.1.0
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt requirements-scale.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) .cache
