// The layers of src/, checked in `make lint` (npx depcruise). From the bottom:
//   api/                    the CRD types and pure helpers: imports nothing of ours
//   log, metrics, routing/  leaf utilities (routing: pure path matching and backend ports, over api/)
//   operator/               the controller runtime (informers, queues, Manager): knows no feature
//   controlplane/           the client of the control plane and the protocol module both ends share
//   gatewayroute/           what every GatewayRoute writer and reader shares (writer, claims, backends)
//   ingress/ gatewayapi/ connectivity/ tunnel/ sync/   the features: each registers through setup(manager)
//   app.ts, main.ts         composition: the only place features meet
//   preview/                the offline `gateway-operator preview`: a second composition, of the features'
//                           pure translation modules only (no controller, informer or client), run by main.ts
// reference-control-plane/ is a separate program (tests, demo, bench): it may use the protocol module and
// pure helpers, and nothing of the operator may import it.
const FEATURES = '(ingress|gatewayapi|connectivity|tunnel|sync)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'A cycle means two modules are one concern or a layer is crossed.', from: {}, to: { circular: true } },
    {
      name: 'api-is-pure',
      severity: 'error',
      comment: 'api/ holds types and pure helpers only: nothing outside api/, no library, no Node module.',
      from: { path: '^src/api/' },
      to: { pathNot: '^src/api/' },
    },
    {
      name: 'protocol-is-pure',
      severity: 'error',
      comment: "Both ends share controlplane/protocol.ts: types, schemas and frame encodings over api/ only (and node:net's isIP, a pure check).",
      from: { path: '^src/controlplane/protocol\\.ts$' },
      to: { pathNot: ['^src/(api/|controlplane/protocol\\.ts$)', '^net$'] },
    },
    {
      name: 'utilities-are-leaves',
      severity: 'error',
      from: { path: '^src/(log|metrics)\\.ts$|^src/routing/' },
      to: { path: '^src/', pathNot: '^src/(api/|log\\.ts$|metrics\\.ts$|routing/)' },
    },
    {
      name: 'runtime-knows-no-feature',
      severity: 'error',
      comment: 'operator/ is the controller runtime; features plug into it.',
      from: { path: '^src/operator/' },
      to: { path: '^src/', pathNot: '^src/(operator/|log\\.ts$|metrics\\.ts$)' },
    },
    {
      name: 'controlplane-below-features',
      severity: 'error',
      from: { path: '^src/controlplane/' },
      to: { path: `^src/(${FEATURES.slice(1, -1)}|gatewayroute)/|^src/(app|main|config)\\.ts$` },
    },
    {
      name: 'gatewayroute-below-features',
      severity: 'error',
      from: { path: '^src/gatewayroute/' },
      to: { path: `^src/${FEATURES}/|^src/controlplane/|^src/(app|main|config)\\.ts$` },
    },
    {
      name: 'features-do-not-reach-into-each-other',
      severity: 'error',
      comment: 'Features meet in app.ts. The one exception: sync reads connectivity/state (the routing mode it sends).',
      from: { path: `^src/${FEATURES}/` },
      to: { path: `^src/${FEATURES}/`, pathNot: ['^src/$1/', '^src/connectivity/state\\.ts$'] },
    },
    {
      name: 'server-serves-what-it-is-given',
      severity: 'error',
      comment: 'The health server gets its readiness and details from app.ts; it reads metrics and nothing else.',
      from: { path: '^src/server/' },
      to: { path: '^src/', pathNot: '^src/(server/|metrics\\.ts$|log\\.ts$)' },
    },
    {
      name: 'only-composition-reads-config',
      severity: 'error',
      comment: 'Flags become option objects in the compositions (main.ts, app.ts, the preview command); features never read the Config.',
      from: { pathNot: '^src/((main|app|config|exposure)\\.ts|preview/cli\\.ts)$' },
      to: { path: '^src/config\\.ts$' },
    },
    {
      name: 'only-main-runs-preview',
      severity: 'error',
      comment: 'preview is a command of the entry point; nothing of the operator depends on it.',
      from: { pathNot: '^src/(main\\.ts$|preview/)' },
      to: { path: '^src/preview/' },
    },
    {
      name: 'preview-composes-pure-translation-only',
      severity: 'error',
      comment:
        "preview calls the features' own translation, not a copy, but only their pure modules (and objectKey): no controller, " +
        'informer, queue, writer or client, so it runs with no cluster.',
      from: { path: '^src/preview/' },
      to: {
        path: `^src/(${FEATURES.slice(1, -1)}|operator|controlplane)/|^src/gatewayroute/(writer|setup)\\.ts$`,
        pathNot: '^src/(ingress/(translate|class)|gatewayapi/(attach|translate|types)|sync/wire|operator/kinds)\\.ts$',
      },
    },
    {
      name: 'only-composition-imports-app',
      severity: 'error',
      from: { pathNot: '^src/main\\.ts$' },
      to: { path: '^src/app\\.ts$' },
    },
    {
      name: 'operator-never-imports-the-reference-control-plane',
      severity: 'error',
      comment: 'It is a test and demo program, built on its own and not in the image.',
      from: { path: '^src/', pathNot: '^src/reference-control-plane/' },
      to: { path: '^src/reference-control-plane/' },
    },
    {
      name: 'reference-control-plane-uses-only-the-shared-pieces',
      severity: 'error',
      comment: 'The other end of the protocol: the protocol module, api/ types, pure routing and tunnel helpers, log and metrics; never the operator runtime or its controllers.',
      from: { path: '^src/reference-control-plane/' },
      to: {
        path: '^src/',
        pathNot: '^src/(reference-control-plane/|api/|routing/|controlplane/protocol\\.ts$|tunnel/(headers|websocket-translate|websocket|fair-share)\\.ts$|log\\.ts$|metrics\\.ts$)',
      },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    // node_modules is not followed, but imports of it are seen (api/ must import no library).
    exclude: { path: '^(dist|dist-reference)/' },
  },
};
