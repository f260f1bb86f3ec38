{#- The reporting currency (var reporting_currency) must have a rate in seeds/fx_rates.csv: without one no order
    could be converted to it. Returns one row (a failure) when it has none. -#}
select '{{ var("reporting_currency") }}' as reporting_currency
where not exists (select 1 from {{ ref('fx_rates') }} where currency = '{{ var("reporting_currency") }}')
