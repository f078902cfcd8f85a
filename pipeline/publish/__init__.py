"""Publish: build the cohort database aside and replace the published one atomically.

`publish` writes the cohort and audit tables; `sql` loads the statements kept in `sql/`.
"""
