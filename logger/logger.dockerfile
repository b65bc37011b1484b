# Logger: log entries in MongoDB, over Nameko RPC/events and XML-RPC (:5001).
# Build from the repository root:
#   docker build -f logger/logger.dockerfile -t nameko-microservices/logger .
# (`make build_logger` does it through docker-compose.yml.)
# The same image serves gRPC (:50001) as its own process: `python -m logger.grpc_server`,
# with the health check `python -m common.healthcheck grpc:LOGGER_GRPC_ADDRESS`.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# This service's dependencies only (requirements/logger.txt, pinned by constraints.txt) in a
# virtualenv of their own, in a layer rebuilt only when those files change. Every requirement
# ships a wheel, so no compiler is installed here or anywhere.
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements/base.txt requirements/logger.txt constraints.txt /tmp/
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/logger.txt -c /tmp/constraints.txt

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    LOGGER_XMLRPC_ADDRESS=0.0.0.0:5001 LOGGER_GRPC_ADDRESS=0.0.0.0:50001 \
    METRICS_ADDRESS=0.0.0.0:9102 GRPC_METRICS_ADDRESS=0.0.0.0:9105
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY common/ common/
COPY protos/ protos/
COPY logger/ logger/
# Compiled now: at run time the code is read-only and owned by root, not by the service's user.
RUN python -m compileall -q /app
USER 10001:10001
EXPOSE 5001 50001 9102 9105
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "common.healthcheck", "tcp:LOGGER_XMLRPC_ADDRESS", "http:METRICS_ADDRESS/health"]
CMD ["nameko", "run", "--config", "logger/config.yaml", "logger.service"]
