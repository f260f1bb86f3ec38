"""A/B experiments per segment: config, stored deterministic assignment, outcomes and honest statistics.

Tables live in the `experiments` schema of the warehouse (`schema.py` owns their DDL) and are published
to the serving file behind the BI views `experiment_assignments` and `experiment_results` (docs/bi.md).
Entry point: `segwarehouse.experiments.refresh.refresh` (the Airflow task calls `refresh_from_warehouse`).
"""
