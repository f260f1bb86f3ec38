"""HTTP segment lookup for content systems: `GET /v1/persons/{key}` on the published serving file (docs/api.md)."""
