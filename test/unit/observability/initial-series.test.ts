// The tunnel's series exist at 0 from the start, before any request: a counter series that only appears at its
// first increment hides that increment from rate() and increase(), so a replica's first burst of 5xx would
// never reach GatewayOperatorTunnelErrors or the dashboard. Its own file: nothing here may serve a request first.
import { describe, expect, it } from '@jest/globals';
import { registry, TUNNEL_STATUS_CLASSES } from '../../../src/metrics.js';

/** The status labels of the samples of `name` at 0 ('' for a sample without one), sorted. */
async function zeroSeries(name: string): Promise<string[]> {
  const samples = (await registry.getMetricsAsJSON()).flatMap((m) => m.values.map((s) => ({ ...s, name: (s as { metricName?: string }).metricName ?? m.name })));
  return samples.filter((s) => s.name === name && s.value === 0).map((s) => String(s.labels.status ?? '')).sort();
}

describe('tunnel metrics before any request', () => {
  it('have a 0 series per status class the alerts and dashboard read (2xx to 5xx), and refused at 0', async () => {
    expect(TUNNEL_STATUS_CLASSES).toEqual(expect.arrayContaining(['2xx', '3xx', '4xx', '5xx']));
    const classes = [...TUNNEL_STATUS_CLASSES].sort();
    expect(await zeroSeries('gateway_operator_tunnel_requests_total')).toEqual(classes);
    expect(await zeroSeries('gateway_operator_tunnel_request_duration_seconds_count')).toEqual(classes);
    expect(await zeroSeries('gateway_operator_tunnel_refused_total')).toEqual(['']);
  });
});
