-- A 0-byte CSV delivery (a truncated export) is quarantined as 'empty file', never read as "no rows today".
-- depends_on: {{ ref('int_quarantine_rows') }}
{%- set files = landing_files('crm/contacts', '*.csv') + landing_files('shop/orders', '*.csv')
                + landing_files('shop/order_items', '*.csv') -%}
{%- if files | length > 0 %}
select replace(filename, '{{ var("raw_path") }}/', '') as source_file
from read_blob([{% for f in files %}'{{ f | replace("'", "''") }}'{{ "," if not loop.last }}{% endfor %}])
where size = 0
except
select source_file from {{ ref('int_quarantine_rows') }} where reason = 'empty file: no header line'
{%- else %}
select null as source_file where false
{%- endif %}
