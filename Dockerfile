# One image: the app by default, the worker with `python -m jobs`.
FROM python:3.11-slim-bookworm

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
RUN pip install -r requirements.txt

COPY . .
RUN useradd --create-home --uid 10001 controlplane \
    && mkdir -p /app/.data && chown -R controlplane:controlplane /app/.data
USER 10001

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8501/_stcore/health"]

# Worker: docker run IMAGE python -m jobs
CMD ["streamlit", "run", "streamlit_app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true", "--browser.gatherUsageStats=false"]
