# Two entry points: `make demo` and `make test`. Both set up what is missing first (ngspice, .venv,
# torch, the project) and are quiet when everything is already there.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test library ngspice

# device twins, then the RF network on the 8x8 digits: train -> export -> co-simulate
demo: ngspice $(STAMP)
	@$(VENV)/bin/spicegen twins --out out/twins
	@$(VENV)/bin/spicegen train --data digits --sizes 64,32,10 --out out/rf.pt
	@$(VENV)/bin/spicegen export --checkpoint out/rf.pt --out out/rf.graph.json
	@$(VENV)/bin/spicegen cosim --graph out/rf.graph.json --data digits --out out/cosim

test: ngspice $(STAMP)
	@$(PY) -m pytest

# regenerate netlists/ (model library and example netlists) from the code
library: $(STAMP)
	@$(VENV)/bin/spicegen library

ngspice:
	@sh scripts/ensure_ngspice.sh

$(STAMP): pyproject.toml scripts/setup_venv.sh
	@sh scripts/setup_venv.sh $(VENV)
	@touch $@
