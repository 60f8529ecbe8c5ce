// Which Ingresses the operator takes, and which are of our IngressClass (src/ingress/class.ts).
import { describe, expect, it } from '@jest/globals';
import { defaultIngressClass, isOurClass, selected, type IngressClass } from '../../../src/ingress/class.js';
import type { IngressLike } from '../../../src/ingress/translate.js';

const OURS = 'gateway.pipeops.io/tunnel';

function ingressClass(name: string, controller: string, isDefault = false): IngressClass {
  return { metadata: { name, annotations: isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : {} }, spec: { controller } };
}

function ingress(extra: { className?: string; annotations?: Record<string, string> } = {}): IngressLike {
  return { metadata: { name: 'web', namespace: 'shop', annotations: extra.annotations }, spec: { ingressClassName: extra.className } };
}

const tunnel = ingressClass('pipeops-tunnel', OURS);
const nginx = ingressClass('nginx', 'k8s.io/ingress-nginx');
const EXCLUDE = { 'gateway.pipeops.io/exclude': 'true' };

describe('isOurClass and selected', () => {
  interface Case {
    name: string;
    ingress: IngressLike;
    classes: IngressClass[];
    /** --ingress-class */
    only?: string[];
    ours: boolean;
    taken: boolean;
  }
  const cases: Case[] = [
    { name: 'our class, no --ingress-class', ingress: ingress({ className: 'pipeops-tunnel' }), classes: [tunnel, nginx], ours: true, taken: true },
    { name: 'our class, --ingress-class lists only another', ingress: ingress({ className: 'pipeops-tunnel' }), classes: [tunnel, nginx], only: ['nginx'], ours: true, taken: true },
    { name: 'our class, opted out', ingress: ingress({ className: 'pipeops-tunnel', annotations: EXCLUDE }), classes: [tunnel], ours: true, taken: false },
    { name: 'our class by the legacy annotation', ingress: ingress({ annotations: { 'kubernetes.io/ingress.class': 'pipeops-tunnel' } }), classes: [tunnel], only: ['nginx'], ours: true, taken: true },
    { name: 'spec wins over the legacy annotation', ingress: ingress({ className: 'nginx', annotations: { 'kubernetes.io/ingress.class': 'pipeops-tunnel' } }), classes: [tunnel, nginx], only: ['edge'], ours: false, taken: false },
    { name: 'another class, no --ingress-class: mirrored', ingress: ingress({ className: 'nginx' }), classes: [tunnel, nginx], ours: false, taken: true },
    { name: 'another class, listed', ingress: ingress({ className: 'nginx' }), classes: [tunnel, nginx], only: ['nginx'], ours: false, taken: true },
    { name: 'another class, not listed', ingress: ingress({ className: 'nginx' }), classes: [tunnel, nginx], only: ['edge'], ours: false, taken: false },
    { name: 'another class, opted out', ingress: ingress({ className: 'nginx', annotations: EXCLUDE }), classes: [nginx], ours: false, taken: false },
    { name: 'exclude annotation other than "true" does not opt out', ingress: ingress({ className: 'pipeops-tunnel', annotations: { 'gateway.pipeops.io/exclude': 'yes' } }), classes: [tunnel], ours: true, taken: true },
    { name: 'a class that does not exist is not ours', ingress: ingress({ className: 'pipeops-tunnel' }), classes: [nginx], only: ['nginx'], ours: false, taken: false },
    { name: 'a class of the same name with another controller is not ours', ingress: ingress({ className: 'pipeops-tunnel' }), classes: [ingressClass('pipeops-tunnel', 'example.com/other')], only: ['nginx'], ours: false, taken: false },
    { name: 'our class under another name', ingress: ingress({ className: 'tunnel-b' }), classes: [tunnel, ingressClass('tunnel-b', OURS)], only: ['nginx'], ours: true, taken: true },
    { name: 'no class, ours is the default', ingress: ingress(), classes: [ingressClass('pipeops-tunnel', OURS, true), nginx], only: ['nginx'], ours: true, taken: true },
    { name: 'no class, another is the default', ingress: ingress(), classes: [tunnel, ingressClass('nginx', 'k8s.io/ingress-nginx', true)], only: ['nginx'], ours: false, taken: true },
    { name: 'no class, another is the default, not listed', ingress: ingress(), classes: [tunnel, ingressClass('nginx', 'k8s.io/ingress-nginx', true)], only: ['edge'], ours: false, taken: false },
    { name: 'no class and no default, no --ingress-class', ingress: ingress(), classes: [tunnel, nginx], ours: false, taken: true },
    { name: 'no class and no default, --ingress-class given', ingress: ingress(), classes: [tunnel, nginx], only: ['nginx'], ours: false, taken: false },
    {
      name: 'no class, two defaults (ours one of them): none is the default',
      ingress: ingress(),
      classes: [ingressClass('pipeops-tunnel', OURS, true), ingressClass('nginx', 'k8s.io/ingress-nginx', true)],
      only: ['nginx'],
      ours: false,
      taken: false,
    },
    { name: 'a class naming ours explicitly is ours whatever the default', ingress: ingress({ className: 'pipeops-tunnel' }), classes: [tunnel, ingressClass('nginx', 'k8s.io/ingress-nginx', true)], only: ['nginx'], ours: true, taken: true },
  ];
  it.each(cases)('$name', ({ ingress: input, classes, only, ours, taken }) => {
    expect(isOurClass(input, classes, OURS)).toBe(ours);
    expect(selected(input, classes, { ingressClasses: only ?? [], controllerName: OURS })).toBe(taken);
  });

  it('follows --gateway-controller-name', () => {
    const mine = ingressClass('mine', 'example.com/mine');
    expect(isOurClass(ingress({ className: 'mine' }), [mine], 'example.com/mine')).toBe(true);
    expect(isOurClass(ingress({ className: 'mine' }), [mine], OURS)).toBe(false);
  });
});

describe('defaultIngressClass', () => {
  it.each([
    { name: 'none', classes: [tunnel, nginx], expected: undefined },
    { name: 'one', classes: [tunnel, ingressClass('nginx', 'x', true)], expected: 'nginx' },
    { name: 'two: ambiguous, none', classes: [ingressClass('a', 'x', true), ingressClass('b', 'y', true)], expected: undefined },
    { name: 'annotation not "true"', classes: [{ metadata: { name: 'a', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'True' } } }], expected: undefined },
  ])('$name', ({ classes, expected }) => {
    expect(defaultIngressClass(classes)?.metadata?.name).toBe(expected);
  });
});
