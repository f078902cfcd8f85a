-- Let go of the previous cohort before the previously published database is detached.
drop view if exists temp.previous_screening
