"""The MLflow model registry, both sides of one contract: :mod:`kycc.registry.write` registers trained and
recalibrated versions (tags, aliases, artifact layout), :mod:`kycc.registry.read` loads them back for inference,
monitoring and the API (:class:`~kycc.registry.read.RegisteredModel`, :class:`~kycc.registry.read.ModelCard`).
The names both sides agree on (tags, artifact paths, aliases) live in :mod:`kycc.registry.contract`.
"""
