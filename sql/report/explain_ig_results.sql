-- sigmd explain: every immunoglobulin result of the patient, in date order.
select
    analyte, collected_date, age_months, value_text, censor, value_mg_dl, unit_received,
    lower_mg_dl, upper_mg_dl, limits_source, specimen_id, is_day_value, is_counted, is_low,
    is_at_or_above_lower, is_within_limits, is_above_upper, is_complete, is_undecided,
    source_file, source_row
from cohort.ig_results
where patient_id = $patient_id
order by collected_date, analyte, source_file, source_row
