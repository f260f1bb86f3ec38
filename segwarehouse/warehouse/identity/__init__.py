"""Probabilistic identity matching: Splink on the warehouse's DuckDB links CRM contacts that share no key.

Runs as a Python step between dbt's staging layer and its identity layer (segwarehouse.warehouse.build): it
reads `main.stg_crm__contacts`, writes schema `identity` (`probabilistic_links`, a declared dbt source that
`int_identity_edges_guarded` unions into the one identity graph, and `probabilistic_link_explanations`), and
keeps its trained models versioned under `$SEGWAREHOUSE_MODELS/identity/` (docs/warehouse.md).
"""
