// Runs sigs.k8s.io/cli-utils' kstatus (the readiness Flux and kstatus-based waiters compute) on objects,
// through the Go helper hack/testbin/kstatus (built once, cached, by hack/testbin/go-helper.sh).
import { join } from 'node:path';
import { runCommandSync } from './processes.js';
import { cachedDir } from './test-cluster.js';

export interface KstatusResult {
  /** Current, InProgress, Failed, Terminating, NotFound or Unknown. */
  status: string;
  message: string;
}

export function kstatus(...objects: unknown[]): KstatusResult[] {
  const binary = join(cachedDir('go-helper.sh', 'kstatus', ['kstatus']), 'kstatus');
  const run = runCommandSync(binary, [], { input: JSON.stringify(objects), timeoutMs: 30_000 });
  if (run.status !== 0) throw new Error(`kstatus exited with ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout) as KstatusResult[];
}
