import { describe, expect, it } from '@jest/globals';
import { crdTemplate } from '../../../hack/chart-crds.js';

const SPEC = 'spec:\n  group: example.com\n  names:\n    kind: Thing\n';
const crd = (metadata: string, spec = SPEC) => `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n${metadata}${spec}`;

describe('crdTemplate', () => {
  it("keeps the source's spec byte for byte, behind crds.enabled, with the chart's labels and the keep policy behind crds.keep", () => {
    const template = crdTemplate('things.yaml', crd('  name: things.example.com\n'));
    expect(template).toContain(`\n${SPEC}{{- end }}\n`);
    expect(template.split('\n').slice(1, 12)).toEqual([
      '{{- if .Values.crds.enabled }}',
      'apiVersion: apiextensions.k8s.io/v1',
      'kind: CustomResourceDefinition',
      'metadata:',
      '  name: things.example.com',
      '  labels:',
      '    {{- include "gateway-operator.labels" . | nindent 4 }}',
      '  {{- if .Values.crds.keep }}',
      '  annotations:',
      '    helm.sh/resource-policy: keep',
      '  {{- end }}',
    ]);
  });

  it('refuses what it would lose or what Helm would misread', () => {
    expect(() => crdTemplate('a.yaml', crd('  name: a\n  labels: {x: y}\n'))).toThrow('crds/a.yaml: metadata must hold the name alone');
    expect(() => crdTemplate('b.yaml', crd('  name: b\n', `${SPEC}    description: "{{ x }}"\n`))).toThrow('crds/b.yaml: "{{" in the spec');
    expect(() => crdTemplate('c.yaml', crd('  name: c\n').replace('CustomResourceDefinition', 'ConfigMap'))).toThrow('not an apiextensions.k8s.io/v1 CustomResourceDefinition');
    expect(() => crdTemplate('d.yaml', 'kind: CustomResourceDefinition\n')).toThrow('no top-level "spec:" line');
  });
});
