// docs/protocol.md, "Limits, and what happens past them", against the code: the rows that give a number
// the code holds as a default say that number, so a changed default cannot leave the document behind.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../../src/config.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../../../src/controlplane/client.js';
import { LIMITS } from '../../../src/controlplane/protocol.js';
import { DEFAULT_OPEN_TIMEOUT_MS } from '../../../src/reference-control-plane/gateway-websocket.js';
import { DEFAULT_BEGIN_TIMEOUT_MS, DEFAULT_MAX_CONCURRENT_STREAMS } from '../../../src/reference-control-plane/gateway.js';
import { DEFAULT_WEBSOCKET_OPTIONS } from '../../../src/tunnel/websocket.js';

const HEADING = '### Limits, and what happens past them';

/** The table under HEADING, one [field or resource, limit, past it] per row. */
function limitsTable(markdown: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(HEADING);
  if (start < 0) throw new Error(`docs/protocol.md has no "${HEADING}"`);
  const from = lines.findIndex((line, i) => i > start && line.startsWith('|'));
  const to = lines.findIndex((line, i) => i > from && !line.startsWith('|'));
  return lines
    .slice(from + 2, to < 0 ? undefined : to) // past the header and its separator
    .map((row) => row.slice(1, -1).split(' | ').map((cell) => cell.trim()));
}

const mib = (bytes: number): string => `${bytes / (1024 * 1024)} MiB`;
const seconds = (ms: number): string => `${ms / 1000} s`;
const defaults = parseConfig([], {});
const ws = DEFAULT_WEBSOCKET_OPTIONS;

describe('docs/protocol.md limits say the values of the code', () => {
  const rows = limitsTable(readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8'));
  it.each<{ row: string; limit: string; past: string }>([
    { row: 'WebSocket stream data sent after `ws_flow {paused: true}`', limit: `${mib(ws.flowGraceBytes)} past the agent's ${mib(ws.highWaterMark)} high-water mark`, past: 'code: 1008, reason: "sent past ws_flow paused"' },
    { row: 'a frame the control plane sends', limit: `${mib(defaults.maxFrameBytes)} (\`--max-frame-bytes\`, 1,024 – 1 GiB)`, past: 'closes the socket (1009) and dials again' },
    { row: 'WebSocket opening handshakes', limit: `${seconds(DEFAULT_HANDSHAKE_TIMEOUT_MS)} each`, past: '`ws_error` 502' },
    { row: 'WebSocket opening handshakes', limit: `${seconds(ws.handshakeTimeoutMs)} each`, past: 'retried with backoff' },
    { row: '`ws_opened` after `ws_open`', limit: seconds(DEFAULT_OPEN_TIMEOUT_MS), past: '504' },
    { row: 'the answer to a `proxy_request` beginning', limit: `${seconds(DEFAULT_BEGIN_TIMEOUT_MS)} from the request's arrival`, past: '504 for the client, `proxy_cancel` for the agent' },
    { row: 'the answer to a `proxy_request` beginning', limit: `\`--tunnel-timeout-ms\`, defaults to ${seconds(defaults.tunnelTimeoutMs)}`, past: '' },
    { row: 'WebSocket message', limit: mib(ws.maxMessageBytes), past: '1009' },
    { row: 'WebSocket data queued towards backends, all streams together', limit: mib(ws.maxQueuedBytes), past: 'code: 1013' },
    { row: '`proxy_response_end.trailers`', limit: `at most ${LIMITS.trailerCount} entries, ${LIMITS.trailerBytes / 1024} KiB together`, past: '`bad_payload`' },
    { row: 'HTTP/2 streams of one client connection', limit: `${DEFAULT_MAX_CONCURRENT_STREAMS} (\`SETTINGS_MAX_CONCURRENT_STREAMS\`)`, past: '429' },
  ])('$row: $limit; $past', ({ row, limit, past }) => {
    const found = rows.find(([what]) => what?.startsWith(row));
    expect(found).toBeDefined();
    expect(found?.[1]).toContain(limit);
    expect(found?.[2]).toContain(past);
  });
});
