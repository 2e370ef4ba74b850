import shutil

import pytest

requires_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None,
                                      reason="ngspice not installed (make test installs it)")
