"""Validate: the checks that gate a publish.

`check` holds the `Check` record every check produces; `checks` are our own polars checks of the
output, `suites` runs the Great Expectations suites, and `report` gathers them into one verdict.
"""
