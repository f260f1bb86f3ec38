{#- One row per person with at least one session: the rhythm of the person's site contacts over all history
    (on how many days, how far apart, when last) and two session columns that e-mail clicks do not dilute.
    A visit is a session with a page or product view; a newsletter click that browses nothing is a session
    of one event and no duration, which pulls lifetime session means down for exactly the persons who read
    their mail (loyal and bargain customers). -#}
{#- a view: a per-row derivation of stored facts that only dim_user_profile reads, once per run -#}
{{ config(materialized='view') }}
with rhythm as (
    select person_id, session_days, first_session_date, last_session_date, avg_visit_minutes, email_sessions
    from {{ ref('int_person_session_stats') }}
)

select
    person_id,
    session_days,
    first_session_date,
    last_session_date,
    cast({{ dbt.datediff('first_session_date', 'last_session_date', 'day') }} as double)
        / nullif(session_days - 1, 0) as mean_days_between_sessions,
    avg_visit_minutes,
    email_sessions
from rhythm
