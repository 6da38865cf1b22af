# cloudmall: the one image every compute pattern runs (EC2 instances, ECS Fargate).
# Dependencies come from requirements/runtime.lock (pinned, hashed); the final stage holds the
# virtualenv and nothing else of the build: no pip, no compiler, no secrets.
# The base is a build argument so that a machine without a registry can build from a locally
# made Debian + Python base (.ci/container-base); with a registry the default is python:3.12-slim.
ARG BASE_IMAGE=python:3.12-slim
# checkov:skip=CKV_DOCKER_7:FROM names the BASE_IMAGE build argument, whose default is the tagged python:3.12-slim (CI passes a locally made bookworm image); checkov cannot resolve build arguments, so it sees no tag

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY requirements/runtime.lock requirements/build.lock requirements/
# A proxy that re-signs TLS needs its CA: given as a build secret (never a layer) when present.
RUN --mount=type=secret,id=ca,target=/run/secrets/ca \
    set -eu; \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    python3 -m venv /opt/build; \
    /opt/build/bin/pip install --quiet --require-hashes -r requirements/build.lock; \
    python3 -m venv --without-pip /opt/cloudmall; \
    /opt/build/bin/pip --python /opt/cloudmall/bin/python install --quiet --no-deps \
        --require-hashes -r requirements/runtime.lock
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/build/bin/pip wheel --quiet --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/build/bin/pip --python /opt/cloudmall/bin/python install --quiet --no-deps \
        --no-index /wheels/*.whl

# What runs: the virtualenv, a non-root user, writes only under /var/lib/cloudmall and /tmp
# (and /etc/cloudmall where a platform mounts one: ECS puts the RDS CA bundle there).
FROM ${BASE_IMAGE} AS app
ARG UID=10001
RUN useradd --system --uid "${UID}" --user-group --home-dir /var/lib/cloudmall \
        --shell /usr/sbin/nologin cloudmall \
    && install -d -m 0750 -o cloudmall -g cloudmall /var/lib/cloudmall /etc/cloudmall
COPY --from=build /opt/cloudmall /opt/cloudmall
ENV PATH=/opt/cloudmall/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/cloudmall \
    MPLCONFIGDIR=/tmp/matplotlib \
    CLOUDMALL_VAR_DIR=/var/lib/cloudmall \
    CLOUDMALL_HOST=0.0.0.0 \
    CLOUDMALL_PORT=8000 \
    CLOUDMALL_WORKERS=2
WORKDIR /var/lib/cloudmall
VOLUME ["/var/lib/cloudmall"]
EXPOSE 8000
USER 10001:10001
# /livez: the process answers (a database outage must not get a healthy container replaced).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ['CLOUDMALL_PORT'], timeout=4)"]
# Exec form: `cloudmall serve` is PID 1 and gets SIGTERM itself; its workers drain on it.
# Host, port and workers come from CLOUDMALL_HOST, CLOUDMALL_PORT and CLOUDMALL_WORKERS.
CMD ["cloudmall", "serve"]

# The unit tests against the installed app (buildspec.yml runs them before pushing); never shipped.
FROM app AS test
USER root
COPY --from=build /opt/build /opt/build
COPY requirements/dev.lock /tmp/dev.lock
RUN --mount=type=secret,id=ca,target=/run/secrets/ca \
    set -eu; \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    /opt/build/bin/pip --python /opt/cloudmall/bin/python install --quiet --no-deps \
        --require-hashes -r /tmp/dev.lock
COPY --chown=10001:10001 pyproject.toml /src/
COPY --chown=10001:10001 requirements /src/requirements
COPY --chown=10001:10001 tests /src/tests
WORKDIR /src
USER 10001:10001
# tests/unit/bench tests the benchmark tool (bench/), which is not part of the image.
CMD ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit", "--ignore=tests/unit/bench"]

# The default target: the app stage as it is.
FROM app AS runtime
USER 10001:10001
