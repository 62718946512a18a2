"""The runner: send compiled prompts to models, store every response as it arrives.

Public names: `RunItem`, `RunOptions`, `RunSummary`, `ModelEstimate`,
`items_from_prompts`, `run_items` (sync), `arun_items` (inside an event loop),
`run_prompts` (an experiment's compiled prompts, with its cell index), `price_table`.
"""

from afdsl.run.cost import PriceTable, price_table
from afdsl.run.experiment import format_estimates, index_cells, run_prompts
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
    "index_cells",
    "items_from_prompts",
    "price_table",
    "run_items",
    "run_prompts",
]
