"""The runner: send compiled prompts to models, store every response as it arrives.

Public names: `RunItem`, `RunOptions`, `RunSummary`, `ModelEstimate`,
`items_from_prompts`, `run_items` (sync), `arun_items` (inside an event loop),
`run_experiment`, `price_table`.
"""

from afdsl.run.cost import PriceTable, price_table
from afdsl.run.experiment import format_estimates, run_experiment, with_models
from afdsl.run.scheduler import arun_items, run_items
from afdsl.run.types import ModelEstimate, RunItem, RunOptions, RunSummary, items_from_prompts

__all__ = [
    "ModelEstimate",
    "PriceTable",
    "RunItem",
    "RunOptions",
    "RunSummary",
    "arun_items",
    "format_estimates",
    "items_from_prompts",
    "price_table",
    "run_experiment",
    "run_items",
    "with_models",
]
