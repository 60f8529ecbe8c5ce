// Argo CD's built-in health of an Ingress. Argo CD ships it in Go, not Lua (gitops-engine's
// pkg/health/health_ingress.go; resource_customizations/networking.k8s.io/Ingress holds tests only, no
// health.lua), so it cannot be run like config/argocd/health.lua: its whole rule is replicated here.
// Healthy when status.loadBalancer.ingress has an entry, Progressing otherwise (never Degraded).
export function argoIngressHealth(ingress: { status?: { loadBalancer?: { ingress?: unknown[] } } }): 'Healthy' | 'Progressing' {
  return (ingress.status?.loadBalancer?.ingress ?? []).length > 0 ? 'Healthy' : 'Progressing';
}
