import { describe, expect, it } from '@jest/globals';
import { parseConfig } from '../../src/config.js';
import { describeExposure } from '../../src/exposure.js';

const exposureOf = (argv: string[]) => describeExposure(parseConfig(argv, {}));

describe('describeExposure: the start-up line that says what is exposed', () => {
  it('by default: every Ingress, every namespace, the opt-out annotation, our GatewayClass, and how to narrow it', () => {
    const { message, fields } = exposureOf([]);
    expect(message).toBe(
      'exposing every Ingress of every class in every namespace (an Ingress opts out with the annotation gateway.pipeops.io/exclude: "true") ' +
        'and the HTTPRoutes in every namespace attached to Gateways whose GatewayClass has controllerName gateway.pipeops.io/tunnel; ' +
        'rules without a host are not routed; narrow this with --ingress-class, --watch-namespaces or --ingress-selector',
    );
    expect(fields).toEqual({
      ingressClasses: 'all',
      watchNamespaces: 'all',
      ingressSelector: 'none',
      excludeAnnotation: 'gateway.pipeops.io/exclude',
      gatewayControllerName: 'gateway.pipeops.io/tunnel',
      allowCatchAll: false,
    });
  });

  const cases = [
    { name: 'one class', argv: ['--ingress-class', 'nginx'], says: ['the Ingresses of our IngressClass (controller gateway.pipeops.io/tunnel) and of class nginx (one without a class counts as the default IngressClass)'] },
    { name: 'classes', argv: ['--ingress-class', 'nginx', '--ingress-class', 'internal'], says: ['of class nginx, internal'] },
    { name: 'one namespace', argv: ['--watch-namespaces', 'shop'], says: ['every Ingress of every class in namespace shop (', 'HTTPRoutes in namespace shop attached'] },
    { name: 'namespaces', argv: ['--watch-namespaces', 'shop,web'], says: ['in namespaces shop, web ('] },
    { name: 'a selector', argv: ['--ingress-selector', 'expose=true'], says: ['every Ingress of every class labelled expose=true in every namespace'] },
    { name: 'catch-all', argv: ['--allow-catch-all', '--ingress-class', 'a'], says: ['rules without a host are catch-all routes (--allow-catch-all)'] },
    { name: 'another GatewayClass controller', argv: ['--gateway-controller-name', 'example.com/tunnel', '--ingress-class', 'a'], says: ['controllerName example.com/tunnel'] },
  ];
  it.each(cases)('$name', ({ argv, says }) => {
    const { message } = exposureOf(argv);
    for (const text of says) expect(message).toContain(text);
    expect(message).not.toContain('narrow this'); // narrowed already
  });

  it('names the narrowing flags in its fields', () => {
    expect(exposureOf(['--ingress-class', 'a', '--watch-namespaces', 'x,y', '--ingress-selector', 'k=v']).fields).toMatchObject({
      ingressClasses: ['a'],
      watchNamespaces: ['x', 'y'],
      ingressSelector: 'k=v',
    });
  });
});
