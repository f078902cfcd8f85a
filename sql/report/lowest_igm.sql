-- Each screened patient's lowest IgM day value, without the patient id: age (months) at that
-- result, value in mg/dL (a censored result's bound), whether it is low, and its lower limit.
with

ig_results as (

    select * from cohort.ig_results

),

ranked as (

    select
        age_months,
        value_mg_dl,
        is_low,
        lower_mg_dl,
        row_number() over (
            partition by patient_id order by value_mg_dl, collected_date, source_file, source_row
        ) as rank
    from ig_results
    where analyte = 'igm' and is_day_value

),

final as (

    select age_months, value_mg_dl, coalesce(is_low, false) as is_low, lower_mg_dl
    from ranked
    where rank = 1

)

select * from final
order by age_months, value_mg_dl
