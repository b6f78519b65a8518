# syntax=docker/dockerfile:1
# Stockify Gateway: one port (50051) for gRPC, gRPC-Web, Connect, REST and
# the dashboard. The build steps are the ones .ci/run runs (npm ci, npm run
# build), so CI proves them even where no Docker engine runs.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The dashboard bundle, then production dependencies only (tsx included:
# the gateway runs its TypeScript through it).
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=50051
WORKDIR /app
# Root owns the files and the node user runs them: the process cannot
# rewrite its own code.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/web ./web
USER node
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["node", "bin/healthcheck.js"]
# main.ts handles SIGTERM itself (drain, then exit 0), so node can be PID 1.
CMD ["node", "--import", "tsx", "src/main.ts"]
