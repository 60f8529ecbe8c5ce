// What the operator exposes through the hosted gateway, in words, from the selection flags. The default
// (every Ingress of every class, as the original agent did) is wide: the start-up log says it, as the
// README and the chart's NOTES.txt do, so nobody learns the scope from a surprise. Pure.
import { EXCLUDE_ANNOTATION } from './api/v1alpha1/types.js';
import type { Config } from './config.js';

export type ExposureConfig = Pick<Config, 'ingressClasses' | 'watchNamespaces' | 'ingressSelector' | 'gatewayControllerName' | 'allowCatchAll'>;

export interface Exposure {
  /** One sentence, for the start-up log line. */
  message: string;
  /** The same settings as log fields ("all" / "none" where a flag is not given). */
  fields: Record<string, string | boolean | readonly string[]>;
}

export function describeExposure(config: ExposureConfig): Exposure {
  const { ingressClasses, watchNamespaces, ingressSelector, gatewayControllerName, allowCatchAll } = config;
  // Our own IngressClass (its controller is gatewayControllerName) is always served, whatever --ingress-class says.
  const classes = ingressClasses.length
    ? `the Ingresses of our IngressClass (controller ${gatewayControllerName}) and of class ${ingressClasses.join(', ')} (one without a class counts as the default IngressClass)`
    : 'every Ingress of every class';
  const labelled = ingressSelector ? ` labelled ${ingressSelector}` : '';
  const where = watchNamespaces.length ? `in namespace${watchNamespaces.length > 1 ? 's' : ''} ${watchNamespaces.join(', ')}` : 'in every namespace';
  const narrowed = ingressClasses.length > 0 || watchNamespaces.length > 0 || ingressSelector !== undefined;
  const ingresses = `${classes}${labelled} ${where} (an Ingress opts out with the annotation ${EXCLUDE_ANNOTATION}: "true")`;
  const httpRoutes = `the HTTPRoutes ${where} attached to Gateways whose GatewayClass has controllerName ${gatewayControllerName}`;
  const message = [
    `exposing ${ingresses} and ${httpRoutes}`,
    allowCatchAll ? 'rules without a host are catch-all routes (--allow-catch-all)' : 'rules without a host are not routed',
    ...(narrowed ? [] : ['narrow this with --ingress-class, --watch-namespaces or --ingress-selector']),
  ].join('; ');
  return {
    message,
    fields: {
      ingressClasses: ingressClasses.length ? ingressClasses : 'all',
      watchNamespaces: watchNamespaces.length ? watchNamespaces : 'all',
      ingressSelector: ingressSelector ?? 'none',
      excludeAnnotation: EXCLUDE_ANNOTATION,
      gatewayControllerName,
      allowCatchAll,
    },
  };
}
