"""afdsl: a language and test runner for alignment-faking experiments.

The stages a notebook user calls, in pipeline order::

    experiment = afdsl.load_experiment("motivations.afs")
    prompts = afdsl.expand_prompts(experiment)    # lazy iterator of Prompt
    outcome = afdsl.test_experiment("motivations.afs")
    result = afdsl.analyze_labels(records, hypotheses=["h: gap(no_rlhf) < gap(base)"])

Names are imported on first use, so `import afdsl` (and `afdsl --help`) stays
fast and never imports an SDK or scipy it does not need. (The expander is
exported as `expand_prompts`: the name `afdsl.expand` belongs to its module,
which Python binds on the package whenever the module is imported.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "AfsError": "afdsl.diagnostics",
    "Diagnostic": "afdsl.diagnostics",
    "Experiment": "afdsl.ir",
    "Hypothesis": "afdsl.ir",
    "Prompt": "afdsl.ir",
    "load_experiment": "afdsl.check",
    "check_file": "afdsl.check",
    "parse_hypothesis": "afdsl.syntax",
    "expand_prompts": "afdsl.expand",
    "Store": "afdsl.store",
    "RunOptions": "afdsl.run",
    "run_experiment": "afdsl.pipeline",
    "classify_experiment": "afdsl.classify",
    "analyze_labels": "afdsl.analysis",
    "AnalysisResult": "afdsl.stats",
    "test_experiment": "afdsl.pipeline",
    "report_from_store": "afdsl.pipeline",
}

# exported names that differ from the name in their module
_SOURCE_NAMES = {"expand_prompts": "expand"}

__all__ = [
    "AfsError",
    "AnalysisResult",
    "Diagnostic",
    "Experiment",
    "Hypothesis",
    "Prompt",
    "RunOptions",
    "Store",
    "__version__",
    "analyze_labels",
    "check_file",
    "classify_experiment",
    "expand_prompts",
    "load_experiment",
    "parse_hypothesis",
    "report_from_store",
    "run_experiment",
    "test_experiment",
]

if TYPE_CHECKING:
    from afdsl.analysis import analyze_labels
    from afdsl.check import check_file, load_experiment
    from afdsl.classify import classify_experiment
    from afdsl.diagnostics import AfsError, Diagnostic
    from afdsl.expand import expand as expand_prompts
    from afdsl.ir import Experiment, Hypothesis, Prompt
    from afdsl.pipeline import report_from_store, run_experiment, test_experiment
    from afdsl.run import RunOptions
    from afdsl.stats import AnalysisResult
    from afdsl.store import Store
    from afdsl.syntax import parse_hypothesis


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'afdsl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _SOURCE_NAMES.get(name, name))
    globals()[name] = value  # later lookups skip this function
    return value
