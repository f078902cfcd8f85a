-- Provenance: run history, row counts, ignored and quarantined rows.
create schema audit
