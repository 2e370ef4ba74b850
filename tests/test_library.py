"""netlists/models/ holds what the code generates, and the Verilog-A carries the same parameters."""
import os
import shutil
import subprocess

import pytest

from spintronic.models import DomainWallParams, ResonatorParams, STNOParams
from spintronic.models.params import spice_number
from spicegen.library import DEFAULT_DIR, EXAMPLES_DIR, example_netlists, library_files

ROOT = os.path.dirname(os.path.dirname(__file__))


def test_committed_library_is_current():
    for name, text in library_files().items():
        path = os.path.join(ROOT, DEFAULT_DIR, name)
        assert os.path.exists(path), f"{path} missing: run `make library`"
        with open(path) as fh:
            assert fh.read() == text, f"{path} is stale: run `make library`"


def test_committed_example_netlists_are_current():
    for name, text in example_netlists(os.path.join(ROOT, EXAMPLES_DIR)).items():
        path = os.path.join(ROOT, EXAMPLES_DIR, name)
        assert os.path.exists(path), f"{path} missing: run `make library`"
        with open(path) as fh:
            assert fh.read() == text, f"{path} is stale: run `make library`"


def test_library_is_deterministic_across_processes():
    import hashlib
    import sys
    code = ("import hashlib; from spicegen.library import library_files; "
            "print(hashlib.sha256(repr(sorted(library_files().items())).encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, cwd=ROOT,
                              check=True).stdout.strip() for seed in ("1", "2")}
    here = hashlib.sha256(repr(sorted(library_files().items())).encode()).hexdigest()
    assert digests == {here}


def test_verilog_a_uses_the_parameter_objects():
    files = library_files()
    stno_va, res_va, dw_va = files["stno.va"], files["mtj_resonator.va"], files["domain_wall.va"]
    assert f"gg = {spice_number(STNOParams().Gg)};" in stno_va
    assert f"ksd = {spice_number(ResonatorParams().K_SD)};" in res_va
    assert f"x0 = {spice_number(DomainWallParams().x0)};" in dw_va
    for text in files.values():
        if text.startswith("//"):
            assert text.count("module ") == text.count("endmodule")


@pytest.mark.skipif(shutil.which("openvaf") is None, reason="no Verilog-A compiler (openvaf)")
def test_verilog_a_compiles(tmp_path):
    for name, text in library_files().items():
        if name.endswith(".va"):
            src = tmp_path / name
            src.write_text(text)
            subprocess.run(["openvaf", str(src)], check=True, cwd=tmp_path)
