// runPreview, the command's glue, with in-memory streams: what goes to stdout and stderr, and the exit code.
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { runPreview } from '../../../src/preview/cli.js';
import type { PreviewOutput } from '../../../src/config.js';

const fixture = (file: string) => join(process.cwd(), 'test/fixtures/preview', file);

async function run(inputs: string[], options: { output?: PreviewOutput; stdin?: string; stdout?: Writable } = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const collected = { stdout: '', stderr: '' };
  stdout.on('data', (chunk: Buffer) => (collected.stdout += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (collected.stderr += chunk.toString()));
  const code = await runPreview(
    { inputs, output: options.output ?? 'table', ingressClasses: [], allowCatchAll: false, gatewayControllerName: 'gateway.pipeops.io/tunnel' },
    { stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]), stdout: options.stdout ?? stdout, stderr },
  );
  return { code, ...collected };
}

describe('runPreview', () => {
  it('0: the table on stdout, nothing on stderr', async () => {
    const { code, stdout, stderr } = await run([fixture('ingress-tls.yaml')]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^NAMESPACE {6}NAME {3}SOURCE/);
    expect(stderr).toBe('');
  });

  it('1: a dropped path, or a route that would be Stalled', async () => {
    expect((await run([fixture('ingress-drops.yaml')])).code).toBe(1);
    expect((await run([fixture('ingress-missing-service.yaml')], { output: 'json' })).code).toBe(1);
  });

  it('2: input it cannot read, said on stderr with nothing on stdout', async () => {
    expect(await run(['-'], { stdin: 'kind: [' })).toMatchObject({ code: 2, stdout: '' });
    expect((await run(['-'], { stdin: 'kind: [' })).stderr).toMatch(/^gateway-operator preview: \(stdin\): not valid YAML: /);
  });

  it('YAML and JSON carry only the List on stdout; the verdict goes to stderr', async () => {
    const { code, stdout, stderr } = await run([fixture('httproute.yaml')], { output: 'json' });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'GatewayRoute', metadata: { name: 'store' } }] });
    expect(stderr).toBe('gateway-operator preview: OK 1 GatewayRoute\n');
  });

  it('a reader that went away (| head) does not change the exit code or throw', async () => {
    const closed = new Writable({ write: (_chunk, _encoding, callback) => callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
    expect((await run([fixture('ingress-drops.yaml')], { stdout: closed })).code).toBe(1);
  });
});
