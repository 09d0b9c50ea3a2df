# suitecrm-auth-proxy container image.
#   podman build -t suitecrm-auth-proxy .      (or: docker build -t suitecrm-auth-proxy .)
# The base image is a build argument so it can be pinned to a digest or swapped for a mirror:
#   --build-arg NODE_IMAGE=registry.example.com/node:20-bookworm-slim@sha256:...
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. dependencies: everything the build needs, from the lock file alone (cached until it changes).
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund

# 2a. deps: the same node_modules pruned to production dependencies (no second download;
#     depends on the lock file only, so a source change does not redo it).
FROM dependencies AS deps
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# 2b. build: compile TypeScript (src/ only; tests are not shipped).
FROM dependencies AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# 3. runtime: compiled output + production dependencies, owned by root, run as the
#    unprivileged `node` user (uid 1000), so the process cannot modify its own code.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PROXY_HOST=0.0.0.0 \
    PROXY_PORT=8080
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
USER node
EXPOSE 8080
# node itself probes /_proxy/healthz: no curl or wget in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/app/dist/src/cli/healthcheck.js"]
# node runs as PID 1 (no shell, no docker-entrypoint.sh): it receives SIGTERM itself and the
# proxy handles it (drain, then exit 0). It starts no child processes, so nothing needs reaping;
# `docker run --init` adds tini if your platform insists on an init.
# SIGHUP reloads the configuration and secret files without a restart: `docker kill -s HUP <container>`
# (they are watched too, so replacing a mounted secret file is enough).
ENTRYPOINT ["node", "/app/dist/src/main.js"]
