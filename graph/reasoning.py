"""Reasoning: placeholder until the reasoner lands (derives nothing yet)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph


def materialize(kg: KnowledgeGraph) -> None:
    """Write the derived triples of ``kg`` into its inferred graph."""
    return None
