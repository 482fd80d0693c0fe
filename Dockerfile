# The slipway worker image (README: Scaling out). Three stages: dependencies, build, runtime.
# The runtime stage has production dependencies only, git (workers build commits in worktrees)
# and runs as an unprivileged user.

# 1. Dependencies: production only, from the lockfile.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts=false && npm cache clean --force

# 2. Build: every dependency, the compiled sources and the bundle (scripts/compile.mjs, bundle.mjs).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json biome.json ./
COPY scripts ./scripts
COPY src ./src
COPY bin ./bin
COPY bench ./bench
COPY test ./test
COPY examples ./examples
COPY web ./web
RUN npm run build

# 3. Runtime.
FROM node:20-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin slipway
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/cli ./dist/cli
COPY --from=build /app/dist/slipway.schema.json ./dist/slipway.schema.json
COPY package.json ./
COPY bin ./bin
COPY deploy/worker-entrypoint.sh /usr/local/bin/slipway-worker
RUN ln -s /app/bin/slipway.js /usr/local/bin/slipway && mkdir -p /work && chown slipway:slipway /work
USER 10001:10001
WORKDIR /work
EXPOSE 9464
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/slipway-worker"]
