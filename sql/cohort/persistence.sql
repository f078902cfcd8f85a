-- cohort.persistence: the persistence decision of every patient with an index date.
create table cohort.persistence as

with

persistence as (

    select * from persistence_frame

),

final as (

    select
        patient_id::varchar as patient_id,
        index_date::date as index_date,
        normalised_date::date as normalised_date,
        repeat_low_from_date::date as repeat_low_from_date,
        repeat_low_date::date as repeat_low_date
    from persistence

)

select * from final
order by patient_id
