# syntax=docker/dockerfile:1
# Stockify Gateway: one port (50051) for gRPC, gRPC-Web, Connect, REST and
# the dashboard. The build steps are the ones .ci/run runs (npm ci, npm run
# build), so CI proves them even where no Docker engine runs.
#
# The base image is pinned by version, the project's own Node (package.json's
# `node` dev dependency). Pin the digest as well when building for release:
#   docker build --build-arg NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:<digest> .
# (`docker buildx imagetools inspect node:24.21.0-bookworm-slim` prints it).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json packages/client/
COPY packages/cli/package.json packages/cli/
RUN npm ci --no-audit --no-fund
COPY . .
# JavaScript in dist/ and the dashboard bundle, then the gateway's own
# production dependencies only: no TypeScript tooling, and neither the
# client's nor the command's packages (--workspaces=false), reach the image.
RUN npm run build && npm prune --omit=dev --workspaces=false --include-workspace-root --no-audit --no-fund

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="Stockify Gateway" \
      org.opencontainers.image.description="Market-data gateway: gRPC, gRPC-Web, Connect and REST on one port from the same handlers" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=50051
WORKDIR /app
# Root owns the files and the node user runs them: the process cannot
# rewrite its own code, and the container can run with a read-only root.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/web/index.html ./web/
COPY --from=build /app/web/dist ./web/dist
USER node
EXPOSE 50051
# Readiness, not liveness: the container is healthy only while the gateway
# takes traffic (GET /readyz: 503 while Redis is down or it drains), so
# Docker-aware routers and `depends_on: service_healthy` keep callers away
# from a replica that would fail them. A crashed process exits, and the
# restart policy handles that.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["node", "bin/healthcheck.js"]
# main.js handles SIGTERM itself (drain, then exit 0), so node can be PID 1.
# GATEWAY_NODE_FLAGS (src/node-flags.ts): V8 reads them only at start-up.
CMD ["node", "--enable-source-maps", "--max-semi-space-size=4", "dist/main.js"]
