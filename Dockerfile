# scanbot: the Slack bot.  Build: docker build -t scanbot .
# Run (HTTP mode): docker run -p 3000:3000 --env-file scanbot.env -v scanbot-data:/data scanbot
# Two replicas with PostgreSQL: docker compose up -d (docker-compose.yml); Kubernetes: deploy/.
# Dependencies come from requirements.lock (exact versions, hashes checked); CI checks that the
# lock matches pyproject.toml.  Lint: hadolint Dockerfile (CI runs it; no warnings allowed).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
# docker build --build-arg VERSION=<pyproject version> --build-arg SOURCE=<repository URL> .
ARG VERSION=0.1.0
ARG SOURCE=""
LABEL org.opencontainers.image.title="scanbot" \
      org.opencontainers.image.description="Slack bot that reports Prisma Cloud Compute registry scan progress until the scan is done" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
# No SCANBOT_DATABASE_URL here: the default (sqlite:///scanbot.db) lands in /data, the working
# directory, and a deployment may set SCANBOT_DATABASE_URL or SCANBOT_DATABASE_URL_FILE.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=3000
RUN groupadd --system --gid 10001 scanbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --create-home scanbot
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-deps /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
# Liveness only (the process can make progress); readiness is GET /readyz for an orchestrator.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["scanbot"]
CMD ["run"]
