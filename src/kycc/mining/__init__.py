"""Issue mining: product-opportunity mining from public forums (GitHub, StackOverflow, Reddit, Hacker News).

Plain domain modules called by the ``issue_mining`` Kedro pipeline:

- ``urls``: URL normalisation and ``url_hash``
- ``ratelimit``: per-API request windows that honour ``Retry-After`` / back-off replies
- ``collectors``: the four httpx API clients (pagination, retries, rate-limit headers)
- ``replay``: recorded API responses (``samples/``) served through ``httpx.MockTransport``
- ``embeddings``, ``clustering``, ``summaries``, ``labelling``: the silver and gold steps
- ``store``: the DuckDB schemas and tables; ``datasets``: the Kedro datasets over them and the clients
- ``pocketbase``: the REST client, the idempotent sync, and a local server helper

Nothing heavy (torch, sentence-transformers, litellm, duckdb) is imported at package import.
"""
