# Listener: stores the log events published to RabbitMQ's logs_topic (no port).
# Build from the repository root:
#   docker build -f listener/listener.dockerfile -t nameko-microservices/listener .
# (`make build_listener` does it through docker-compose.yml.)
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# This service's dependencies only (requirements/listener.txt, pinned by constraints.txt) in a
# virtualenv of their own, in a layer rebuilt only when those files change. Every requirement
# ships a wheel, so no compiler is installed here or anywhere.
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements/base.txt requirements/listener.txt constraints.txt /tmp/
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/listener.txt -c /tmp/constraints.txt

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    METRICS_ADDRESS=0.0.0.0:9103
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY common/ common/
COPY listener/ listener/
# Compiled now: at run time the code is read-only and owned by root, not by the service's user.
RUN python -m compileall -q /app
USER 10001:10001
# /metrics and /health (readiness: RabbitMQ and what the service needs) on the ops port.
EXPOSE 9103
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "common.healthcheck", "http:METRICS_ADDRESS/health"]
CMD ["nameko", "run", "--config", "listener/config.yaml", "listener.service"]
