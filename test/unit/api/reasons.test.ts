// docs/conditions.md against the code. Every condition type and reason the operator writes on its own kinds is
// in src/api/v1alpha1/reasons.ts (the functions that build those conditions are typed by it, so a reason not
// listed there does not compile); here each must have its row in the document, with the same status and
// the same "Stalls", and the document must list nothing the code does not write.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { progressSummary, STALLED_REASONS } from '../../../src/api/v1alpha1/conditions.js';
import { CLUSTER_CONNECTIVITY_REASONS, GATEWAY_ROUTE_REASONS, SUMMARY_REASONS, type ReasonTable } from '../../../src/api/v1alpha1/reasons.js';
import type { Condition } from '../../../src/api/v1alpha1/types.js';
import { conditionAt } from '../../support/conditions.js';

const DOC = 'docs/conditions.md';
const read = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

/** The document's sections ("## …") and the table of the code each one documents. */
const SECTIONS: Readonly<Record<string, ReasonTable>> = {
  GatewayRoute: GATEWAY_ROUTE_REASONS,
  ClusterConnectivity: CLUSTER_CONNECTIVITY_REASONS,
  'Ready, Reconciling and Stalled': SUMMARY_REASONS,
};

interface Row {
  section: string;
  type: string;
  reason: string;
  status: string;
  stalls: string;
}

const describeRow = (r: Row): string => `${r.section} / ${r.type} / ${r.reason}: ${r.status}${r.stalls ? ', stalls' : ''}`;

/** The reason rows of the document: "| `Reason` | Status | Stalls | …" under "## Section" and "### Type". */
function documentedRows(markdown: string): Row[] {
  const rows: Row[] = [];
  let section = '';
  let type = '';
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) [section, type] = [line.slice(3).trim(), ''];
    else if (line.startsWith('### ')) type = line.slice(4).trim();
    else if (line.startsWith('| `')) {
      const [reason = '', status = '', stalls = ''] = line.split('|').slice(1, 4).map((cell) => cell.trim());
      rows.push({ section, type, reason: reason.replace(/`/g, ''), status, stalls });
    }
  }
  return rows;
}

/** The rows the code's tables call for. */
function expectedRows(sections: Readonly<Record<string, ReasonTable>>): Row[] {
  return Object.entries(sections).flatMap(([section, table]) =>
    Object.entries(table).flatMap(([type, reasons]) =>
      Object.entries(reasons).map(([reason, spec]) => ({ section, type, reason, status: spec.status, stalls: spec.stalls ? 'yes' : '' })),
    ),
  );
}

/** What `documented` lacks of `expected`, and what it lists besides, each row in words. */
function compare(documented: readonly Row[], expected: readonly Row[]): { missing: string[]; unknown: string[] } {
  const shown = new Set(documented.map(describeRow));
  const wanted = new Set(expected.map(describeRow));
  return { missing: [...wanted].filter((r) => !shown.has(r)), unknown: [...shown].filter((r) => !wanted.has(r)) };
}

describe(`${DOC} documents every condition type and reason the code writes`, () => {
  const documented = documentedRows(read(DOC));

  it('every reason of every type, with its status and whether it stalls', () => {
    expect(compare(documented, expectedRows(SECTIONS)).missing).toEqual([]);
  });

  it('and nothing the code does not write (a reason renamed or gone, a wrong status, a table in an unknown section)', () => {
    expect(compare(documented, expectedRows(SECTIONS)).unknown).toEqual([]);
  });

  it('the check has teeth: a reason added to the code and not to the document is reported', () => {
    const withNewReason = { ...SECTIONS, GatewayRoute: { ...GATEWAY_ROUTE_REASONS, Synced: { ...GATEWAY_ROUTE_REASONS.Synced, Throttled: { status: 'False' } } } } as const;
    expect(compare(documented, expectedRows(withNewReason)).missing).toEqual(['GatewayRoute / Synced / Throttled: False']);
    const withNewType = { ...SECTIONS, ClusterConnectivity: { ...CLUSTER_CONNECTIVITY_REASONS, TunnelHealthy: { Healthy: { status: 'True' } } } } as const;
    expect(compare(documented, expectedRows(withNewType)).missing).toEqual(['ClusterConnectivity / TunnelHealthy / Healthy: True']);
  });

  it('README.md links it', () => {
    expect(read('README.md')).toContain(`(${DOC})`);
  });
});

describe('reasons.ts', () => {
  it('gives STALLED_REASONS: the reasons that need a change from the user', () => {
    expect(STALLED_REASONS).toEqual({
      Accepted: new Set(['NoRoutes']),
      ResolvedRefs: new Set(['ServiceNotFound', 'PortNotFound', 'InvalidBackendTLSPolicy']),
      Synced: new Set(['BackendUnresolved', 'Refused', 'Rejected']),
      ControlPlaneConnected: new Set(['Unauthorized']),
    });
  });

  // progressSummary copies reasons from the conditions it reads, so its outputs are checked by running it.
  const at = conditionAt;
  const readBy: Array<[kind: string, table: ReasonTable, order: string[]]> = [
    ['GatewayRoute', GATEWAY_ROUTE_REASONS, ['Accepted', 'ResolvedRefs', 'Synced']],
    ['ClusterConnectivity', CLUSTER_CONNECTIVITY_REASONS, ['Detected', 'ControlPlaneConnected']],
  ];
  it.each(readBy)('on a %s, Ready, Reconciling and Stalled carry a reason of their own or the one of the condition in the way', (_kind, table, order) => {
    const trueReason = (type: string): string => Object.entries(table[type] ?? {}).find(([, spec]) => spec.status === 'True')?.[0] ?? '';
    const allTrue = order.map((type) => at(type, 'True', trueReason(type)));
    const inputs: Condition[][] = [allTrue, allTrue.slice(1), [at(order[0]!, 'True', trueReason(order[0]!), 1), ...allTrue.slice(1)]];
    for (const [index, type] of order.entries()) {
      for (const [reason, spec] of Object.entries(table[type] ?? {})) inputs.push(allTrue.map((c, i) => (i === index ? at(type, spec.status, reason) : c)));
    }
    for (const conditions of inputs) {
      const { ready, reconciling, stalled } = progressSummary(conditions, order, 2);
      for (const written of [ready, reconciling, stalled]) {
        const own = (SUMMARY_REASONS as ReasonTable)[written.type]?.[written.reason]?.status === written.status;
        const inTheWay = conditions.some((c) => c.status !== 'True' && c.reason === written.reason);
        expect({ written: `${written.type}=${written.status} ${written.reason}`, explained: own || inTheWay }).toEqual({ written: expect.any(String), explained: true });
      }
    }
  });
});
