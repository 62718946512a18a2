"""`afdsl lsp` without the optional extra says how to install it."""

from __future__ import annotations

import subprocess
import sys

WITHOUT_PYGLS = (
    "import sys; sys.modules['pygls'] = None; from afdsl.cli import main; sys.exit(main(['lsp']))"
)


def test_lsp_without_pygls_says_which_extra_to_install() -> None:
    out = subprocess.run([sys.executable, "-c", WITHOUT_PYGLS], capture_output=True, text=True)
    assert out.returncode == 2
    assert "pip install 'afdsl[lsp]'" in out.stderr
    assert "Traceback" not in out.stderr
