# The suite's Dagster webserver, daemon and code location image (docker-compose.yml; docs/deploy.md for Kubernetes).
FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 siem
WORKDIR /opt/siem
COPY pyproject.toml README.md ./
COPY dagster_project ./dagster_project
COPY index_templates ./index_templates
COPY dashboards ./dashboards
COPY detectors ./detectors
COPY reports ./reports
COPY security ./security
# EXTRAS=kubernetes adds what Dagster's Helm chart instance needs (PostgreSQL storage, K8s run launcher).
ARG EXTRAS=""
RUN pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}"
ENV DAGSTER_HOME=/opt/dagster/home
RUN mkdir -p $DAGSTER_HOME /var/siem/landing /var/siem/reports && chown -R siem $DAGSTER_HOME /var/siem
# The checkout's instance (run queue, pools) with the storage on the compose volume.
COPY dagster.yaml docker/storage.yaml /tmp/dagster/
RUN cat /tmp/dagster/dagster.yaml /tmp/dagster/storage.yaml > $DAGSTER_HOME/dagster.yaml && rm -r /tmp/dagster
USER siem
