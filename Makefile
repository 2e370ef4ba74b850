# Two entry points: `make demo` and `make test`. Both set up what is missing first (ngspice, .venv,
# torch, the project) and are quiet when everything is already there.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test library ngspice

# device twins; the RF network on the 8x8 digits: train -> export -> co-simulate; its layer 2 on
# a DW-MTJ crossbar and an 8-channel layer's rf crosstalk; then the dynamical STNO network on the
# digits fed row by row: train -> export -> transient co-simulation
demo: ngspice $(STAMP)
	@$(VENV)/bin/spicegen twins --out out/twins
	@$(VENV)/bin/spicegen train --data digits --sizes 64,32,10 --out out/rf.pt
	@$(VENV)/bin/spicegen export --checkpoint out/rf.pt --out out/rf.graph.json
	@$(VENV)/bin/spicegen cosim --graph out/rf.graph.json --data digits --out out/cosim
	@$(VENV)/bin/spicegen sneak --graph out/rf.graph.json --layer 2 --out out/sneak
	@$(VENV)/bin/spicegen crosstalk --channels 8 --out out/crosstalk
	@$(VENV)/bin/spicegen train --model stno --data digits --order rows --epochs 100 --out out/stno.pt
	@$(VENV)/bin/spicegen export --checkpoint out/stno.pt --out out/stno.graph.json
	@$(VENV)/bin/spicegen cosim --graph out/stno.graph.json --data digits --out out/stno_cosim

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
