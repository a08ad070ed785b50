#!/usr/bin/env bash
# `make image`: builds the Dockerfile with the first image builder found — docker (with a
# running engine), podman, buildah or kaniko's executor — as ${IMAGE:-kefu:dev}. Says so and
# fails when there is none (CI has no container engine: there `make test` only lints the file).
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${IMAGE:-kefu:dev}"
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  exec docker build -t "$IMAGE" .
elif command -v podman >/dev/null; then
  exec podman build -t "$IMAGE" .
elif command -v buildah >/dev/null; then
  exec buildah bud -t "$IMAGE" .
elif command -v executor >/dev/null; then
  # kaniko, inside its own container: builds and writes an OCI tarball (no registry needed).
  exec executor --context "dir://$PWD" --dockerfile Dockerfile --no-push \
    --destination "$IMAGE" --tar-path "${IMAGE_TAR:-target/kefu-image.tar}"
else
  echo "make image: no image builder here (looked for a running docker engine, podman, buildah," >&2
  echo "kaniko's executor); install one, or build elsewhere: docker build -t $IMAGE ." >&2
  exit 2
fi
