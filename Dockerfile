# The operator's image. Build stage: compile TypeScript; deps stage: production node_modules only;
# runtime: Node 24 LTS as uid/gid 65532, no shell needed, the operator as ENTRYPOINT.
# BASE_IMAGE / BUILD_IMAGE can be swapped (hack/image-base.sh makes both locally where no registry is
# reachable); the runtime base must have node at /usr/local/bin/node, as the official images do.
ARG BUILD_IMAGE=docker.io/library/node:24-bookworm-slim
ARG BASE_IMAGE=docker.io/library/node:24-bookworm-slim

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Not `npm ci`: the lock file lists only the Linux builds of optional platform packages (see Makefile).
# The optional secret "ca" adds CAs that a TLS-intercepting network needs to reach the npm registry.
RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=/run/secrets/ca \
    npm install --no-save --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The operator alone: the reference control plane is a test and demo peer with its own build
# (tsconfig.reference.json), never shipped; .dockerignore keeps its sources out of the build context too.
RUN npm run build:operator

FROM ${BUILD_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=/run/secrets/ca \
    npm install --no-save --no-audit --no-fund --ignore-scripts --omit=dev && rm -rf /root/.npm && \
    find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -delete

FROM ${BASE_IMAGE}
ARG VERSION=0.0.0-dev
ARG SOURCE_URL=https://github.com/pipeops/gateway-operator
LABEL org.opencontainers.image.title="gateway-operator" \
      org.opencontainers.image.description="Kubernetes operator that makes private clusters reachable through a hosted gateway" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY package.json ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# A 2 MiB young-generation semi-space (default 16): ~30 MiB less RSS for a negligible CPU cost (make bench).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=2
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/main.js"]
