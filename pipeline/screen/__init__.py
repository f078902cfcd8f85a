"""Screen: the rules of SPEC §3, one patient at a time.

`limits` judges each result against its reference limits, `panels` finds isolated low IgM panels and
the index date, `exclusions` finds secondary causes around it, and `funnel` gives each patient the
first step they fail.
"""
