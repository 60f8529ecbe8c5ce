// `gateway-operator preview FILE|DIR|- ...`: read the manifests, preview, print. Exit 0 when every
// GatewayRoute is served as written, 1 when one would be Stalled or drops paths (or a source is refused),
// 2 when an input cannot be read or understood.
import type { Config } from '../config.js';
import { readManifests } from './inputs.js';
import { InputError, preview, previewFails } from './preview.js';
import { formatList, formatNotes, formatTable } from './print.js';

export interface PreviewIO {
  stdin: AsyncIterable<Buffer | string>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Written and flushed: the caller may exit right after. */
function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return text ? new Promise((resolve) => stream.write(text, () => resolve())) : Promise.resolve();
}

export async function runPreview(config: Pick<Config, 'inputs' | 'output' | 'ingressClasses' | 'allowCatchAll' | 'gatewayControllerName'>, io: PreviewIO): Promise<number> {
  // A reader that went away (`preview dir/ | head`) is not the preview's failure: the exit code still says the verdict.
  for (const stream of [io.stdout, io.stderr]) stream.on('error', () => undefined);
  let result;
  try {
    const manifests = await readManifests(config.inputs, { stdin: io.stdin });
    result = preview(manifests, { ingressClasses: config.ingressClasses, allowCatchAll: config.allowCatchAll, gatewayControllerName: config.gatewayControllerName });
  } catch (err) {
    // Not the input's fault: a bug, said as one, and still exit 2 rather than a verdict on the manifests.
    const message = err instanceof InputError ? err.message : `internal error, please report it: ${(err as Error).stack ?? String(err)}`;
    await write(io.stderr, `gateway-operator preview: ${message}\n`);
    return 2;
  }
  const table = config.output === 'table';
  await write(io.stderr, formatNotes(result, { withSources: !table }));
  await write(io.stdout, table ? formatTable(result) : formatList(result, config.output === 'json' ? 'json' : 'yaml'));
  return previewFails(result) ? 1 : 0;
}
