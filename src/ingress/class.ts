// Which Ingresses the operator takes, and which of them are of our own IngressClass, pure. The rule:
//   - an Ingress with the opt-out annotation is never taken;
//   - an Ingress of our class (its class, or the default class when it names none, is an IngressClass whose
//     spec.controller is our controller name) is always taken, whatever --ingress-class lists: installing
//     the class is asking for it, and no other controller serves it;
//   - otherwise --ingress-class decides: empty takes every Ingress (mirrored next to its own controller),
//     else only Ingresses whose class is listed.
// --watch-namespaces and --ingress-selector scope the Ingress informer itself, so they apply to every class.
import { EXCLUDE_ANNOTATION } from '../api/v1alpha1/types.js';
import { ingressClassOf, type IngressLike } from './translate.js';

export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

export interface IngressClass {
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: { controller?: string };
}

export interface Selection {
  /** --ingress-class: the classes taken besides ours; empty takes every class. */
  ingressClasses: readonly string[];
  /** The controller name of our IngressClass (--gateway-controller-name). */
  controllerName: string;
}

/**
 * The cluster's default IngressClass: the one annotated as such. With several there is none, as for the
 * apiserver (which then refuses class-less Ingresses): picking one of them would depend on list order.
 */
export function defaultIngressClass(classes: readonly IngressClass[]): IngressClass | undefined {
  const defaults = classes.filter((c) => c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
  return defaults.length === 1 ? defaults[0] : undefined;
}

/** The name of the Ingress's class: its own (spec, else the legacy annotation), else the default class's. */
export function effectiveClassName(ingress: IngressLike, classes: readonly IngressClass[]): string | undefined {
  return ingressClassOf(ingress) ?? defaultIngressClass(classes)?.metadata?.name;
}

/** Whether the Ingress's class is an IngressClass whose controller is ours. */
export function isOurClass(ingress: IngressLike, classes: readonly IngressClass[], controllerName: string): boolean {
  const name = effectiveClassName(ingress, classes);
  if (name === undefined) return false;
  return classes.some((c) => c.metadata?.name === name && c.spec?.controller === controllerName);
}

export function excluded(ingress: IngressLike): boolean {
  return ingress.metadata?.annotations?.[EXCLUDE_ANNOTATION] === 'true';
}

/** Why the operator leaves the Ingress out (the rule at the top of this file), or undefined when it takes it. */
export function unselectedReason(ingress: IngressLike, classes: readonly IngressClass[], selection: Selection): string | undefined {
  if (excluded(ingress)) return `opted out with the annotation ${EXCLUDE_ANNOTATION}: "true"`;
  if (isOurClass(ingress, classes, selection.controllerName)) return undefined;
  if (selection.ingressClasses.length === 0) return undefined;
  const name = effectiveClassName(ingress, classes);
  if (name !== undefined && selection.ingressClasses.includes(name)) return undefined;
  return `${name === undefined ? 'no class (and no default IngressClass)' : `class ${name}`} is neither ours nor one of --ingress-class ${selection.ingressClasses.join(',')}`;
}

/** Whether the operator takes the Ingress. */
export function selected(ingress: IngressLike, classes: readonly IngressClass[], selection: Selection): boolean {
  return unselectedReason(ingress, classes, selection) === undefined;
}
