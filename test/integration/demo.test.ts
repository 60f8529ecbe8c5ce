// `make demo` as a newcomer runs it, to its first answers (DEMO_EXIT=1): a cluster of its own, the reference
// control plane, the operator, the samples, and a request of each kind through the tunnel: HTTP/1.1 through an
// Ingress and an HTTPRoute, gRPC through a GRPCRoute (hack/grpc-call.mjs, the script the README shows), and an
// HTTPS-only backend verified by its BackendTLSPolicy. The demo exits non-zero when one of them fails.
import { expect, it } from '@jest/globals';
import { join } from 'node:path';
import { runCommand } from '../support/processes.js';
import { REPO_ROOT } from '../support/test-cluster.js';

it('make demo serves HTTP, gRPC and an HTTPS backend through the tunnel, then exits as asked', async () => {
  const { GATEWAY_TEST_KUBECONFIG: _suiteCluster, ...env } = process.env; // the demo starts its own
  const result = await runCommand(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'hack/demo.ts')], { env: { ...env, DEMO_EXIT: '1' }, timeoutMs: 240_000 });
  const output = result.stdout + result.stderr;
  expect({ status: result.status, output }).toMatchObject({ status: 0 });
  expect(output).toContain('hello Ada, from the gRPC service behind the tunnel');
  expect(output).toContain('HTTP 200: hello from the HTTPS-only backend');
  expect(output).toMatch(/vault:8200 HTTPS \(.*BackendTLSPolicy pipeops-monitoring\/vault-tls/);
  expect(output).toMatch(/greeter\s+GRPCRoute\s+grpc\.example\.com\s+1\s+tunnel\s+True\s+True/);
}, 300_000);
