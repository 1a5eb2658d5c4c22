# Three stages (docs/operations.md "Docker"):
#   production (the default target): the app by default, the worker with `python -m jobs`;
#     runtime requirements and production code only, no demo seeder and no moto.
#   demo: the embedded demo (own PostgreSQL, demo data, simulated AWS) for trying the app.
#   base: what both share. production-files only gathers the production file set.
# tests/integration/test_production_image.py builds production's file set from this file and starts its CMD.

FROM python:3.11-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# curl for the HEALTHCHECK; postgresql-client for pg_dump/pg_restore (archive) when the
# bundled pgserver binaries are not installed for this platform.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl=7.* postgresql-client=15* \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt \
    && useradd --create-home --uid 10001 controlplane \
    && mkdir -p /app/.data && chown -R controlplane:controlplane /app/.data

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8501/_stcore/health"]

# Worker: docker run IMAGE python -m jobs
CMD ["streamlit", "run", "streamlit_app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true", "--browser.gatherUsageStats=false"]


FROM base AS demo
COPY requirements-demo.txt .
RUN pip install -r requirements-demo.txt
COPY . .
USER 10001


FROM base AS production-files
WORKDIR /src
COPY streamlit_app.py ./
COPY .streamlit/config.toml .streamlit/
COPY control_plane/ control_plane/
COPY jobs/ jobs/
COPY pages/ pages/
COPY ui/ ui/
RUN rm -r control_plane/demo control_plane/cli/demo.py


FROM base AS production
COPY --from=production-files /src/ /app/
USER 10001
