# The sigmd Airflow image: Python 3.11, the locked dependencies (uv.lock, groups default +
# airflow, no dev tools), the pipeline package and the DAG. One image for every Airflow component
# of docker-compose.yml (api-server, scheduler, dag-processor, triggerer, celery worker).
#
#   docker build -t sigmd-airflow .
FROM python:3.11-slim-bookworm

ARG UV_VERSION=0.13.9
ARG AIRFLOW_UID=50000

ENV PYTHONUNBUFFERED=1 \
    UV_FROZEN=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/sigmd/.venv \
    AIRFLOW_HOME=/opt/airflow \
    PATH=/opt/sigmd/.venv/bin:$PATH

RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
    && useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir /opt/airflow --no-create-home airflow \
    && mkdir -p /opt/airflow/logs /opt/airflow/auth /opt/sigmd /data/extracts /data/output \
    && chown -R "${AIRFLOW_UID}:0" /opt/airflow /data/output \
    && chmod -R g+rwX /opt/airflow /data/output

WORKDIR /opt/sigmd

# Dependencies first (cached until uv.lock changes), then the project itself.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --group airflow --no-install-project
COPY pipeline ./pipeline
COPY sql ./sql
COPY expectations ./expectations
COPY dags ./dags
RUN uv sync --frozen --no-dev --group airflow \
    && python -c "import pipeline.run.stages, airflow.providers.celery, airflow.providers.postgres"

USER ${AIRFLOW_UID}
ENTRYPOINT ["airflow"]
CMD ["version"]
