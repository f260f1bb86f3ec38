{#- Postal address normalization for probabilistic identity matching (docs/sources.md, CRM contacts). No
    backslash escapes (Spark string literals would eat them): words are matched between doubled spaces. -#}

{% macro normalize_address_line(expr) -%}
  {#- why: the word list is Jinja, expanded into one nested replace: lower case, punctuation -> space, street-type
      abbreviations spelled out (st -> street, flat/unit -> apt, ...), whitespace collapsed; empty -> null -#}
  {%- set words = [
      ('st|str', 'street'), ('rd', 'road'), ('ave|av', 'avenue'), ('ln', 'lane'), ('dr', 'drive'),
      ('ct', 'court'), ('pl', 'place'), ('blvd', 'boulevard'), ('sq', 'square'), ('hwy', 'highway'),
      ('apartment|flat|unit', 'apt')] -%}
  {#- no quote characters in the class: the engines escape them differently inside string literals -#}
  {%- set ns = namespace(s=regexp_replace_all("lower(" ~ expr ~ ")", "'[.,;:#/()_-]'", "' '")) -%}
  {%- set ns.s = "replace(' ' || " ~ ns.s ~ " || ' ', ' ', '  ')" -%}
  {%- for pattern, word in words -%}
    {%- set ns.s = regexp_replace_all(ns.s, "' (" ~ pattern ~ ") '", "' " ~ word ~ " '") -%}
  {%- endfor -%}
  nullif(trim({{ regexp_replace_all(ns.s, "' +'", "' '") }}), '')
{%- endmacro %}

{% macro normalize_postcode(expr) -%}
  {#- why: a pair with normalize_address_line: upper case, letters and digits only ('sw1a 1aa' -> 'SW1A1AA'); empty -> null -#}
  nullif({{ regexp_replace_all("upper(" ~ expr ~ ")", "'[^0-9A-Z]'", "''") }}, '')
{%- endmacro %}
