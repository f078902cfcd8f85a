"""Read: turn a delivered extract (canonical, MIMIC-IV or OMOP) into canonical, validated rows.

Adapters in `sources/` read the files; `normalize` parses values, units and dates, sorts every row
into used, quarantined or ignored, and `mapping` applies a site's local codes. Nothing here judges a
patient: that is `pipeline.screen`.
"""
