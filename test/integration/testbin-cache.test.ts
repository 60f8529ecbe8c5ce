// hack/testbin/prometheus.sh builds into a cache directory keyed on its wrapper module: run from a copy with a
// `go` that only records the build, it builds once, reuses the build while go.mod and go.sum stay the same, and
// builds again into another directory when go.sum changes (a regenerated wrapper at the same version).
import { afterAll, describe, expect, it } from '@jest/globals';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommandSync } from '../support/processes.js';
import { REPO_ROOT } from '../support/test-cluster.js';

const work = mkdtempSync(join(tmpdir(), 'gateway-testbin-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const FAKE_GO = `#!/usr/bin/env bash
echo build >> "$GO_LOG"
while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
for bin in prometheus promtool; do printf '#!/bin/sh\\n' > "$out/$bin"; chmod +x "$out/$bin"; done
`;

describe('hack/testbin/prometheus.sh', () => {
  it('reuses its build only while the wrapper go.mod and go.sum are unchanged', () => {
    const testbin = join(work, 'testbin');
    mkdirSync(join(testbin, 'prometheus'), { recursive: true });
    for (const file of ['prometheus.sh', 'cache.sh', 'versions.env', 'prometheus/go.mod', 'prometheus/go.sum']) copyFileSync(join(REPO_ROOT, 'hack/testbin', file), join(testbin, file));
    mkdirSync(join(work, 'bin'));
    writeFileSync(join(work, 'bin/go'), FAKE_GO);
    chmodSync(join(work, 'bin/go'), 0o755);
    const log = join(work, 'go.log');
    const env = { ...process.env, PATH: `${join(work, 'bin')}:${process.env.PATH}`, XDG_CACHE_HOME: join(work, 'cache'), GO_LOG: log };
    const run = (): { dir: string; builds: number } => {
      const result = runCommandSync('bash', [join(testbin, 'prometheus.sh')], { env });
      expect({ status: result.status, stderr: result.stderr }).toMatchObject({ status: 0 }); // stderr shown on failure
      return { dir: result.stdout.trim().split('\n').pop()!, builds: existsSync(log) ? readFileSync(log, 'utf8').split('\n').length - 1 : 0 };
    };

    const first = run();
    expect(first.builds).toBe(1);
    expect(existsSync(join(first.dir, 'promtool'))).toBe(true);
    expect(run()).toEqual(first);
    appendFileSync(join(testbin, 'prometheus/go.sum'), 'example.com/regenerated v1.0.0 h1:x=\n');
    const changed = run();
    expect(changed.builds).toBe(2);
    expect(changed.dir).not.toBe(first.dir);
  });
});
