"""Run: wire the stages together, for `sigmd run` (`engine`) and for Airflow tasks (`stages`).

`handoff` passes one stage's output to the next as Parquet in a run-scoped folder.
"""
