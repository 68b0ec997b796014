"""The curated knowledge graph and the machinery over it: store, reasoning, traversal, export."""
