// What preview prints: the table (columns, details, not-served sources, verdict), the List in YAML and JSON,
// and the notes for stderr.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { parseManifests } from '../../../src/preview/inputs.js';
import { preview, type PreviewResult } from '../../../src/preview/preview.js';
import { formatList, formatNotes, formatTable, verdict } from '../../../src/preview/print.js';

const now = new Date('2026-01-02T03:04:05Z');
function previewOf(...files: string[]): PreviewResult {
  const manifests = files.flatMap((file) => parseManifests(readFileSync(join(process.cwd(), 'test/fixtures/preview', file), 'utf8'), file));
  return preview(manifests, { ingressClasses: [], allowCatchAll: false, gatewayControllerName: 'gateway.pipeops.io/tunnel', now });
}

describe('formatTable', () => {
  it('lists the GatewayRoutes, then what needs attention, the sources not served and the verdict', () => {
    expect(formatTable(previewOf('conflicts.yaml', 'ingress-missing-service.yaml'))).toBe(
      [
        'NAMESPACE      NAME     SOURCE    HOSTS              ROUTES   ACCEPTED            RESOLVEDREFS',
        'preview-shop   api      Ingress   api.example.com    1        Accepted            ServiceNotFound',
        'preview-shop   first    Ingress   shop.example.com   1        Accepted            ResolvedRefs',
        'preview-shop   second   Ingress   shop.example.com   1        PartiallyAccepted   ResolvedRefs',
        '',
        'preview-shop/api',
        '  ResolvedRefs False ServiceNotFound: Service api not found',
        '  would be Stalled (ServiceNotFound): ResolvedRefs: Service api not found',
        '',
        'preview-shop/second',
        '  Accepted True PartiallyAccepted: 1 route(s) accepted; dropped rules[0].paths[0] (/): shop.example.com/ (Prefix) is already served by GatewayRoute preview-shop/first (from Ingress first)',
        '',
        'Ingresses and HTTPRoutes not served (or not through every Gateway they name):',
        '  HTTPRoute preview-shop/first: GatewayRoute preview-shop/first is translated from Ingress preview-shop/first; this HTTPRoute is not exposed until one of them is renamed or that GatewayRoute is deleted',
        '',
        'FAIL 3 GatewayRoutes: 1 drops paths, 1 would be Stalled, 1 source not served as asked (exit 1)',
        '',
      ].join('\n'),
    );
  });

  it('says when there is nothing, and OK when nothing fails', () => {
    expect(formatTable({ gatewayRoutes: [], sources: [], ignored: [], warnings: [] })).toBe('No GatewayRoutes.\n\nOK 0 GatewayRoutes\n');
    expect(verdict(previewOf('ingress-tls.yaml', 'httproute.yaml'))).toBe('OK 2 GatewayRoutes');
  });
});

describe('formatList', () => {
  it.each(['yaml', 'json'] as const)('prints the GatewayRoutes as a List in %s', (format) => {
    const result = previewOf('httproute.yaml', 'ingress-tls.yaml');
    const text = formatList(result, format);
    const parsed = (format === 'json' ? JSON.parse(text) : yaml.load(text)) as Record<string, unknown>;
    expect(parsed).toEqual({ apiVersion: 'v1', kind: 'List', items: result.gatewayRoutes.map((r) => r.gatewayRoute) });
  });
});

describe('formatNotes', () => {
  it('counts ignored kinds, repeats warnings, and for YAML/JSON output names the sources not served and the verdict', () => {
    const result = previewOf('list.yaml', 'httproute-drops.yaml');
    expect(formatNotes(result, { withSources: false })).toBe('gateway-operator preview: ignored 1 object of kinds preview does not read: v1 ConfigMap (1)\n');
    expect(formatNotes(result, { withSources: true }).split('\n')).toEqual([
      'gateway-operator preview: ignored 1 object of kinds preview does not read: v1 ConfigMap (1)',
      'gateway-operator preview: HTTPRoute preview-backends/admin: not attached (NotAllowedByListeners): Gateway preview-shop/tunnel: no listener allows HTTPRoutes from namespace preview-backends (protocol, allowedRoutes, conflicts)',
      'gateway-operator preview: HTTPRoute preview-shop/elsewhere: names no Gateway of gateway.pipeops.io/tunnel: Gateway preview-shop/mesh-gateway is not among the inputs',
      'gateway-operator preview: FAIL 2 GatewayRoutes: 1 drops paths, 1 source not served as asked (exit 1)',
      '',
    ]);
  });
});
