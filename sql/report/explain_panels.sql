-- sigmd explain: each counted low IgM of the patient with the IgG and IgA it was judged with.
select
    igm_date, igm_specimen_id, igg_date, igg_match, igg_days_from_igm, igg_is_within_limits,
    iga_date, iga_match, iga_days_from_igm, iga_is_within_limits, is_isolated
from cohort.panels
where patient_id = $patient_id
order by igm_date
