"""Budgets that hold: a model without a known price cannot run under --budget-usd, and a step whose prompt
alone would cross the budget is not started."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agent.errors import LimitsExceeded, UsageError

if TYPE_CHECKING:
    from agent.config import AgentConfig
    from agent.protocols import Backend, Message


def input_price(backend: Backend) -> float | None:
    """USD per input token (None: unknown); backends without a price attribute (local, scripted) cost nothing."""
    price = getattr(backend, "input_price", 0.0)
    return float(price) if price is not None else None


def check_budget(config: AgentConfig, backend: Backend) -> None:
    """Refuse a cost budget the run could not enforce: the model's price is unknown and none is configured."""
    if config.loop.budget_usd is not None and input_price(backend) is None:
        raise UsageError(f"{backend.name} has no known price, so a cost budget cannot hold: set backend.input_price "
                         f"and backend.output_price (USD per million tokens), or drop --budget-usd")


def check_prompt(backend: Backend, messages: list[Message], tools: list[dict[str, Any]], spent: float,
                 budget: float) -> None:
    """LimitsExceeded when sending `messages` alone would take the run past `budget` (about 4 characters a token)."""
    price = input_price(backend) or 0.0
    tokens = (sum(len(str(m.get("content") or "")) + len(json.dumps(m.get("tool_calls") or [])) for m in messages)
              + len(json.dumps(tools))) // 4
    if price and spent + tokens * price > budget:
        raise LimitsExceeded(f"cost budget: the next step's prompt alone (~{tokens:,} tokens, ~${tokens * price:.4f}) "
                             f"would take the run past ${budget} (spent ${spent:.4f})")
