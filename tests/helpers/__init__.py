"""Helpers shared by tests: converters of synthetic extracts into other source layouts."""
