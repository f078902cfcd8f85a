-- cohort.ig_results: every validated immunoglobulin result, normalised to mg/dL, with its flags.
-- Concentrations are exact decimals (SPEC §3 Units): value × factor with 12 decimal places, the
-- product of two numbers of at most 6, so no digit of the conversion is lost or rounded.
create table cohort.ig_results as

with

ig_results as (

    select * from ig_results_frame

),

final as (

    select
        patient_id::varchar as patient_id,
        analyte::varchar as analyte,
        collected_date::date as collected_date,
        age_months::integer as age_months,
        value_text::varchar as value_text,
        censor::varchar as censor,
        value_mg_dl::decimal(38, 12) as value_mg_dl,
        unit_received::varchar as unit_received,
        lower_mg_dl::decimal(38, 12) as lower_mg_dl,
        upper_mg_dl::decimal(38, 12) as upper_mg_dl,
        limits_source::varchar as limits_source,
        specimen_id::varchar as specimen_id,
        is_day_value::boolean as is_day_value,
        is_counted::boolean as is_counted,
        is_low::boolean as is_low,
        is_at_or_above_lower::boolean as is_at_or_above_lower,
        is_within_limits::boolean as is_within_limits,
        is_above_upper::boolean as is_above_upper,
        is_complete::boolean as is_complete,
        is_undecided::boolean as is_undecided,
        source_file::varchar as source_file,
        source_row::bigint as source_row
    from ig_results

)

select * from final
order by patient_id, collected_date, analyte, source_file, source_row
