# Two entry points: `make demo` and `make test`. Both set up what is missing first (ngspice, .venv,
# torch, the project) and are quiet when everything is already there.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test library ngspice

demo: ngspice $(STAMP)
	@$(VENV)/bin/spicegen twins --out out/twins

test: ngspice $(STAMP)
	@$(PY) -m pytest

# regenerate netlists/ from models/
library: $(STAMP)
	@$(VENV)/bin/spicegen library

ngspice:
	@sh scripts/ensure_ngspice.sh

$(STAMP): pyproject.toml scripts/setup_venv.sh
	@sh scripts/setup_venv.sh $(VENV)
	@touch $@
