-- The DuckDB SQL peer of `sigmd run` (benchmarks/duckdb_peer.py): what an analyst would write by
-- hand to screen the labs, with no validation, no exclusions and no persistence. The views
-- labs_file and patients_file are the extract's files read as text (read_csv all_varchar, or
-- read_parquet); every code, factor and limit is a bound parameter taken from the rules.
with

labs as (
    select
        patient_id,
        left(collected_date, 10) as collected_day,
        test_code,
        try_cast(ltrim(value, '<>= ') as double)
        * case when lower(replace(unit, ' ', '')) = $gl_unit then $gl_factor else 1 end
            as value_mg_dl
    from labs_file
    where test_code in ($igm_code, $igg_code, $iga_code)
),

patients as (
    select distinct patient_id
    from patients_file
),

days as (
    select
        patient_id,
        collected_day,
        min(value_mg_dl) filter (where test_code = $igm_code) as igm_mg_dl,
        min(value_mg_dl) filter (where test_code = $igg_code) as igg_mg_dl,
        min(value_mg_dl) filter (where test_code = $iga_code) as iga_mg_dl
    from labs
    group by patient_id, collected_day
),

final as (
    select
        count(distinct days.patient_id) filter (where days.igm_mg_dl is not null)
            as patients_with_igm,
        count(distinct days.patient_id) filter (where days.igm_mg_dl < $igm_low)
            as patients_with_low_igm,
        count(distinct days.patient_id) filter (
            where days.igm_mg_dl < $igm_low
            and days.igg_mg_dl between $igg_low and $igg_high
            and days.iga_mg_dl between $iga_low and $iga_high
        ) as patients_with_isolated_low_igm
    from days
    inner join patients on days.patient_id = patients.patient_id
)

select * from final
