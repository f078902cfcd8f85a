-- audit.runs: append this run (run_frame holds its one row, without the run number).
insert into audit.runs by name

with

run as (

    select * from run_frame

),

final as (

    select
        $run_number::integer as run_number,
        run.*
    from run

)

select * from final
