-- cohort.panels: each counted low IgM with the IgG and IgA it was judged with, and why.
create table cohort.panels as

with

panels as (

    select * from panels_frame

),

final as (

    select
        patient_id::varchar as patient_id,
        igm_date::date as igm_date,
        igm_specimen_id::varchar as igm_specimen_id,
        igg_date::date as igg_date,
        igg_match::varchar as igg_match,
        igg_days_from_igm::integer as igg_days_from_igm,
        igg_is_within_limits::boolean as igg_is_within_limits,
        iga_date::date as iga_date,
        iga_match::varchar as iga_match,
        iga_days_from_igm::integer as iga_days_from_igm,
        iga_is_within_limits::boolean as iga_is_within_limits,
        is_isolated::boolean as is_isolated
    from panels

)

select * from final
order by patient_id, igm_date
