// The shipped operator: one minified, tree-shaken ESM file (dist/gateway-operator.mjs) with its source map
// beside it. Loading @kubernetes/client-node unbundled keeps every generated API module as source text
// (~100 MiB RSS at idle); the bundle holds only what the operator calls (~60 MiB). tsc's dist/ stays for the
// tests and type-checking; the image runs this file alone, with no node_modules.
import { existsSync, realpathSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { resolve, sep } from 'node:path';
import { build } from 'esbuild';

// Node's built-in modules reach the bundle through require(), never through an ESM import: importing one
// builds its namespace from every export, and on Node 22+ node:http's exports include lazy getters
// (WebSocket, MessageEvent, CloseEvent) that load the whole of undici; that alone was 13 MiB of RSS at idle.
// require() hands over the module object and touches no getter until a name is read.
// Not punycode: the alias below replaces that deprecated built-in with the npm package of the same code.
const BUILTIN = new RegExp(`^(node:)?(${builtinModules.filter((m) => m !== 'punycode').map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);
const builtinsViaRequire = {
  name: 'builtins-via-require',
  setup(build) {
    build.onResolve({ filter: BUILTIN }, (args) =>
      args.namespace === 'builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'builtin' },
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

// @kubernetes/client-node's own modules are side-effect free: the operator calls its own REST clients
// (src/operator/clients.ts) and takes only KubeConfig and Watch from client-node, but the package declares
// no "sideEffects", so esbuild kept every module its index re-exports (the generated API classes, ~700
// models, ObjectSerializer: ~1.2 MB). Marked, they are dropped unless used. Measured on Node 24 with only
// KubeConfig and Watch bundled: 525 KB and 63 MiB RSS at idle, against 1 MB and 74 MiB unmarked; the
// operator's bundle: 1.03 MB against 1.46 MB, and ~78 MiB idle RSS against 81-89 MiB.
const CLIENT_NODE = realpathSync('node_modules/@kubernetes/client-node') + sep;
const clientNodeSideEffectFree = {
  name: 'client-node-side-effect-free',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      // client-node's own files only, not a package nested under it.
      if (!args.resolveDir.startsWith(CLIENT_NODE) || args.resolveDir.slice(CLIENT_NODE.length).split(sep).includes('node_modules')) return undefined;
      const path = resolve(args.resolveDir, args.path);
      // Anything but a file named in full (a directory, no extension; none in 1.4.0): esbuild's own resolution, unmarked.
      return path.endsWith('.js') && existsSync(path) ? { path, sideEffects: false } : undefined;
    });
  },
};

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/gateway-operator.mjs',
  bundle: true,
  platform: 'node',
  // The lowest Node the operator runs on (the image ships Node 24).
  target: 'node20',
  format: 'esm',
  minify: true,
  // Function and class names survive minification, so a stack trace is readable without the map.
  keepNames: true,
  // Beside the bundle, not loaded unless NODE_OPTIONS has --enable-source-maps (it costs ~7 MiB RSS).
  sourcemap: 'linked',
  sourcesContent: false,
  // ws loads these native helpers when present and works without them; they are not bundled.
  external: ['bufferutil', 'utf-8-validate'],
  // client-node's fetch stack (tr46) requires Node's deprecated built-in punycode; Node warns about that
  // on every start once the caller is no longer under node_modules. The npm package is the same code.
  alias: { punycode: './node_modules/punycode/punycode.js' },
  // CommonJS dependencies (client-node, winston, prom-client) call require(); an ESM bundle gets one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  plugins: [builtinsViaRequire, clientNodeSideEffectFree],
  logLevel: 'warning',
});
