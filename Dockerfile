# Image for every Airflow component of the docker-compose deployment: Airflow 3 + dbt + GE + scikit-learn
# and the segwarehouse package itself, installed from this checkout.
FROM python:3.11-slim-bookworm

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AIRFLOW_HOME=/opt/airflow \
    SEGWAREHOUSE_HOME=/opt/segwarehouse \
    SEGWAREHOUSE_DATA=/opt/segwarehouse/data

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/segwarehouse
COPY pyproject.toml README.md ./
COPY segwarehouse ./segwarehouse
COPY ml ./ml
COPY expectations ./expectations
COPY devtools ./devtools
RUN pip install ".[deploy]"

COPY dags ./dags
COPY dbt_project ./dbt_project
COPY config ./config

RUN useradd --create-home --uid 50000 airflow \
 && mkdir -p "$AIRFLOW_HOME" "$SEGWAREHOUSE_DATA" \
 && chown -R airflow "$AIRFLOW_HOME" /opt/segwarehouse
USER airflow
