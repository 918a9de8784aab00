# The bluegreen GitHub Action: `python -m bluegreen action` in a small Python image.
#
# GitHub builds this file on the runner (`runs.image: Dockerfile` in action.yml) with the default BASE.
# tests/integration/test_image.py builds it on a local stand-in for python:3.11-slim (--build-arg BASE=...).
# The lock files are authoritative: every package comes from a hash-checked requirements/*.txt, and pip reads no
# configuration of the machine that builds (--isolated).
ARG BASE=python:3.11-slim

# Stage 1: the bluegreen wheel, built with the locked build backend. Only the wheel leaves this stage.
FROM ${BASE} AS wheel
WORKDIR /build
COPY requirements/build.txt requirements/build.txt
RUN python -m pip install --isolated --no-cache-dir --disable-pip-version-check --require-hashes \
        -r requirements/build.txt
COPY pyproject.toml README.md ./
COPY src src
RUN python -m pip wheel --isolated --no-cache-dir --disable-pip-version-check --no-deps --no-build-isolation \
        --wheel-dir /wheels .

# Stage 2: the action: the locked dependencies, then bluegreen. No system packages: no git (the checkout's objects
# are read by dulwich and status.json is committed through GitHub's API), no SSH client (asyncssh speaks SSH).
FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY requirements/runtime.txt /tmp/runtime.txt
RUN python -m pip install --isolated --no-cache-dir --disable-pip-version-check --require-hashes \
        -r /tmp/runtime.txt \
    && rm /tmp/runtime.txt
COPY --from=wheel /wheels /tmp/wheels
RUN python -m pip install --isolated --no-cache-dir --disable-pip-version-check --no-deps /tmp/wheels/*.whl \
    && rm -r /tmp/wheels
# No USER: GitHub runs container actions as root, with the workspace mounted at /github/workspace.
ENTRYPOINT ["python", "-m", "bluegreen", "action"]
