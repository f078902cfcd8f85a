-- Per patient with an index date (no id): which of the funnel steps after the index date the
-- patient fails, each judged on its own (a cause is found whatever step set the status).
with

screening as (

    select * from cohort.screening

),

exclusions as (

    select * from cohort.exclusions

),

persistence as (

    select * from cohort.persistence

),

causes as (

    select
        patient_id,
        bool_or(category = 'drug') as has_drug,
        bool_or(category = 'malignancy') as has_malignancy,
        bool_or(category = 'other') as has_other
    from exclusions
    group by patient_id

),

final as (

    select
        coalesce(causes.has_drug, false) as fails_excluded_drug,
        coalesce(causes.has_malignancy, false) as fails_excluded_malignancy,
        coalesce(causes.has_other, false) as fails_excluded_other,
        persistence.normalised_date is not null as fails_normalized,
        persistence.repeat_low_date is null as fails_single_low
    from screening
    inner join persistence
        on screening.patient_id = persistence.patient_id
    left join causes
        on screening.patient_id = causes.patient_id

)

select * from final
