"""Scale-out: the same work as the local pool, sent to a Dask distributed cluster.

Workers compute and the `cairn` process stays the one writer, so `--scheduler` works with either
store. Dask is imported only when a scheduler is named: a local run never pays its import.
"""
