"""Wikidata: the links of our entities to Wikidata items, the client, and opt-in enrichment."""
