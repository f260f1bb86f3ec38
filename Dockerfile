# Image for every Airflow component of the docker-compose deployment: the official Airflow image (built against
# Airflow's constraints file) plus dbt, GE, scikit-learn and the segwarehouse package from this checkout.
# Pinning apache-airflow in the same `pip install` keeps the image's Airflow and its constrained dependencies
# (the extension recipe of the official image's docs).
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}
ARG AIRFLOW_VERSION

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SEGWAREHOUSE_HOME=/opt/segwarehouse \
    SEGWAREHOUSE_DATA=/opt/segwarehouse/data

USER root
RUN mkdir -p /opt/segwarehouse/data/raw \
 && chown -R airflow:0 /opt/segwarehouse
USER airflow

WORKDIR /opt/segwarehouse
COPY --chown=airflow:0 pyproject.toml README.md ./
COPY --chown=airflow:0 segwarehouse ./segwarehouse
COPY --chown=airflow:0 ml ./ml
COPY --chown=airflow:0 expectations ./expectations
COPY --chown=airflow:0 devtools ./devtools
RUN pip install "apache-airflow==${AIRFLOW_VERSION}" ".[deploy]"

COPY --chown=airflow:0 dags ./dags
COPY --chown=airflow:0 dbt_project ./dbt_project
COPY --chown=airflow:0 config ./config
