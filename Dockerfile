# scanbot: the Slack bot.  Build: docker build -t scanbot .
# Run (HTTP mode): docker run -p 3000:3000 --env-file scanbot.env -v scanbot-data:/data scanbot
# Two replicas with PostgreSQL: docker compose up -d (docker-compose.yml, scanbot.env).
# Lint: hadolint Dockerfile (CI runs it; no warnings allowed).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=3000 \
    SCANBOT_DATABASE_URL=sqlite:////data/scanbot.db
RUN groupadd --system --gid 10001 scanbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --create-home scanbot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["scanbot"]
CMD ["run"]
