"""Prices and billing units: every dollar figure in a report comes from here.

The price table is data (``prices.toml`` in the package, overridable from ``baseline.toml``);
the functions below turn the providers' real billing units into USD.
"""

from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from baseline.errors import BadInput


@dataclass
class PriceTable:
    """A versioned price table: nested sections, each row with source and effective date."""

    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def default(cls) -> PriceTable:
        text = resources.files("baseline").joinpath("prices.toml").read_text(encoding="utf-8")
        return cls(tomllib.loads(text))

    @property
    def effective_date(self) -> str:
        return str(self.data.get("effective_date", "unknown"))

    def with_overrides(self, overrides: dict[str, Any] | None) -> PriceTable:
        """A copy with rows from config merged over the packaged ones."""
        merged = copy.deepcopy(self.data)

        def merge(dst: dict, src: dict) -> None:
            for k, v in src.items():
                if isinstance(v, dict) and isinstance(dst.get(k), dict):
                    merge(dst[k], v)
                else:
                    dst[k] = v

        merge(merged, overrides or {})
        return PriceTable(merged)

    def row(self, *path: str) -> dict[str, Any]:
        node: Any = self.data
        for p in path:
            if not isinstance(node, dict) or p not in node:
                raise BadInput(f"no price for {'.'.join(path)} in the price table: add [prices.{'.'.join(path)}] to baseline.toml")
            node = node[p]
        return node

    def has(self, *path: str) -> bool:
        try:
            self.row(*path)
            return True
        except BadInput:
            return False

    def rows_used(self, paths: list[tuple[str, ...]]) -> list[dict[str, Any]]:
        """Rows (with source and date) for the report's provenance section."""
        out = []
        for p in paths:
            if self.has(*p):
                r = self.row(*p)
                out.append({"row": ".".join(p), **{k: v for k, v in r.items() if not isinstance(v, dict)}})
        return out


# ---- billing units ---------------------------------------------------------------------------

def comprehend_units(text: str, unit_chars: int = 100, min_units: int = 3) -> int:
    """Comprehend bills 100-character units per document, 3 units minimum."""
    return max(min_units, math.ceil(len(text) / unit_chars))


def azure_text_records(text: str, unit_chars: int = 1000) -> int:
    """Azure AI Language bills one text record per started 1,000 characters."""
    return max(1, math.ceil(len(text) / unit_chars))


def compute_usd(seconds: float, usd_per_hour: float) -> float:
    return seconds * usd_per_hour / 3600.0


def local_instance_price(prices: PriceTable, device: str) -> tuple[float, str]:
    """USD/hour for local compute on this device kind, and the row it came from."""
    kind = "gpu" if device.startswith(("cuda", "gpu")) else "cpu"
    row = prices.row("local", kind)
    return float(row["usd_per_hour"]), f"local.{kind}"


def per_1k(total_usd: float, n: int) -> float:
    return 0.0 if n <= 0 else total_usd / n * 1000.0


def monthly_projection(per_1k_usd: float, monthly_volume: int) -> float:
    return per_1k_usd * monthly_volume / 1000.0
