# syntax=docker/dockerfile:1
# Multi-stage build: compile with dev dependencies, ship only production dependencies.

FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:22-slim AS runtime
ENV NODE_ENV=production
# glibc hands memory back to the OS once 1 MB is free at the top of a heap. Its default
# threshold rises after a large block is freed, to up to 64 MB, and then it kept 8-15 MB of the
# ~35 MB V8 uses for a moment while it compiles undici's WebAssembly HTTP parser: peak RSS under
# load was 107-125 MB without this and 105-116 MB with it, at the same requests/s (npm run
# bench, 2026-11-29). glibc reads it at start-up: set it wherever you run `node dist/main.js`.
ENV MALLOC_TRIM_THRESHOLD_=1048576
WORKDIR /app
COPY package.json package-lock.json ./
# No dev dependencies, and no optional ones: oidc-provider and ws only power `serve --demo`.
RUN npm ci --omit=dev --omit=optional --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
COPY routes.yaml ./routes.yaml
# The image's own unprivileged user.
USER node
EXPOSE 8080 9091
# /healthz answers without the admin token (SPEC §9); sending it when set does no harm.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "const t = process.env.ZTNA_ADMIN_TOKEN; fetch('http://127.0.0.1:9091/healthz', { headers: t ? { authorization: 'Bearer ' + t } : {} }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A young generation of 2 x 8 MB instead of V8's 2 x 16 MB: peak RSS under load about 12 MB
# lower, for about 1.5% more time in minor GCs (public and bearer routes measured up to 5%
# fewer requests/s). --expose-gc lets the gateway ask for a young collection while a large
# body streams through, whose spent buffers V8 would otherwise leave for 25-35 MB
# (src/proxy/buffer-collection.ts). --heap-growing-percent=30 lets the old generation grow by
# 30% (V8's own conservative factor) between full collections, rather than by up to 4x when
# they look cheap (with a heap limit of a few GB, as node sets on a large host or a large
# container): sized from the heap at start-up, V8 otherwise ran no full collection for
# the first 30 s of load and kept the freed pages, 151 MB RSS under a minute of load on Node 22
# (118 MB with it) and up to 168 MB on Node 20 (106 MB with it), for about 3% fewer requests/s
# on the public route (README). The bench runs each build with the options of its image's
# ENTRYPOINT; keep them here, on one line.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--expose-gc", "--heap-growing-percent=30", "dist/main.js"]
CMD ["serve", "--config", "config/gateway.yaml"]
