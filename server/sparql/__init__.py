"""The SPARQL 1.1 endpoint: protocol routes, negotiation, guard, limits, workers, description."""
