"""Assets shared by the segwarehouse DAGs (declared once, imported by every DAG file)."""

from airflow.sdk import Asset

# published, validated unified profiles in the serving DuckDB file
PROFILES = Asset(name="segwarehouse_profiles", uri="segwarehouse://serving/dim_user_profile")
# published ML + rule segment assignments
SEGMENTS = Asset(name="segwarehouse_segments", uri="segwarehouse://serving/segment_assignments")
# raised by scoring when population stability crosses the alert threshold
DRIFT_ALERT = Asset(name="segwarehouse_drift_alert", uri="segwarehouse://warehouse/drift_alert")
