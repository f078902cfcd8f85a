-- cohort.screening: one row per patient with a validated IgM result, with the screening status.
create table cohort.screening as

with

screening as (

    select * from screening_frame

),

final as (

    select
        patient_id::varchar as patient_id,
        status::varchar as status,
        severity::varchar as severity,
        index_date::date as index_date,
        age_at_index::integer as age_at_index,
        sex::varchar as sex,
        n_low_igm::integer as n_low_igm,
        min_igm_mg_dl::double as min_igm_mg_dl,
        exclusion_reasons::varchar[] as exclusion_reasons,
        run_id::varchar as run_id
    from screening

)

select * from final
order by patient_id
