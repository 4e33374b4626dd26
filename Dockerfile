# One image for every service: `python -m services.<name>` picks which one runs.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The runtime lock only (no test or lint tools in the image), then the project itself.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY shared shared
COPY services services
COPY cli cli
COPY devtools devtools
RUN pip install --no-cache-dir --no-deps .

FROM python:3.11-slim AS runtime
RUN useradd --system --uid 10001 --home /app amazonjobs
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /app
USER 10001
# Workers answer /healthz and /metrics here; the API serves on API_PORT (8080).
ENV HEALTH_PORT=9000
EXPOSE 8080 9000
CMD ["python", "-m", "services.api"]
