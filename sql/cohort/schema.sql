-- The analyst-facing tables of the latest run.
create schema cohort
