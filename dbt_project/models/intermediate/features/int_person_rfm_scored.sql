{#- RFM quintile scores among buyers: score = ceil(5 * cume_dist) so ties share a score and the result is
    deterministic. 5 = best (most recent, most frequent, highest spend); never-buyers get 1 (in the mart). -#}
{%- set as_of = "cast('" ~ as_of_date() ~ "' as date)" -%}
with buyers as (
    select
        person_id,
        {{ dbt.datediff('cast(last_order_at as date)', as_of, 'day') }} as recency_days,
        frequency,
        monetary
    from {{ ref('int_person_orders_aggregated') }}
    where frequency > 0
)

select
    person_id,
    recency_days,
    ceil(5 * cume_dist() over (order by recency_days desc))::integer as r_score,
    ceil(5 * cume_dist() over (order by frequency))::integer as f_score,
    ceil(5 * cume_dist() over (order by monetary))::integer as m_score
from buyers
