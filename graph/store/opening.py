"""Opening a store by its address: a remote engine, a folder or memory.

Apart from the store interface (:mod:`karabakh_kg.graph.store`) because it imports the
implementations, which import the interface.
"""

from __future__ import annotations

from karabakh_kg.graph.store import GraphStore
from karabakh_kg.graph.store.embedded import EmbeddedStore
from karabakh_kg.graph.store.remote import RemoteStore


def open_store(
    address: str | None,
    *,
    update_url: str | None = None,
    gsp_url: str | None = None,
    user: str | None = None,
    password: str | None = None,
    auth: str = "basic",
) -> GraphStore:
    """The store at ``address``: an ``http(s)://`` SPARQL query URL (a remote engine), a
    folder (an on-disk pyoxigraph store) or None (in memory)."""
    if address and address.startswith(("http://", "https://")):
        return RemoteStore(
            address,
            update_url=update_url,
            gsp_url=gsp_url,
            user=user,
            password=password,
            auth=auth,
        )
    return EmbeddedStore(address)
