{{/* Names and labels shared by every template. */}}
{{- define "gateway-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gateway-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The Deployment's selector: immutable, so it stays without the component label (an upgrade keeps it). */}}
{{- define "gateway-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gateway-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The operator's pods only: not the uninstall Job's (component deregister). The PDB and anti-affinity select these. */}}
{{- define "gateway-operator.operatorSelectorLabels" -}}
{{ include "gateway-operator.selectorLabels" . }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "gateway-operator.labels" -}}
{{ include "gateway-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "gateway-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gateway-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "gateway-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "gateway-operator.clusterName" -}}
{{- required "clusterName is required: the name this cluster registers with at the control plane, unique among your clusters (--set clusterName=prod-eu-1)" .Values.clusterName -}}
{{- end -}}

{{/* Env and volumes for the control-plane connection: the same in the Deployment and the uninstall Job. */}}
{{- define "gateway-operator.connectionEnv" -}}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: GATEWAY_CLUSTER_NAME
  value: {{ include "gateway-operator.clusterName" . | quote }}
- name: GATEWAY_LEASE_NAME
  value: {{ include "gateway-operator.fullname" . | quote }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- with .Values.controlPlane.url }}
- name: GATEWAY_CONTROL_PLANE_URL
  value: {{ . | quote }}
{{- end }}
{{- if .Values.controlPlane.tokenSecret.name }}
- name: GATEWAY_TOKEN_FILE
  value: /var/run/secrets/gateway-operator/token/token
{{- end }}
{{- if or .Values.controlPlane.caBundle.secretName .Values.controlPlane.caBundle.configMapName }}
- name: GATEWAY_CA_FILE
  value: /var/run/secrets/gateway-operator/ca/ca.crt
{{- end }}
{{- if .Values.controlPlane.clientCertSecret }}
- name: GATEWAY_CLIENT_CERT_FILE
  value: /var/run/secrets/gateway-operator/client/tls.crt
- name: GATEWAY_CLIENT_KEY_FILE
  value: /var/run/secrets/gateway-operator/client/tls.key
{{- end }}
{{- if .Values.controlPlane.proxySecret.name }}
- name: GATEWAY_PROXY_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.controlPlane.proxySecret.name | quote }}
      key: {{ .Values.controlPlane.proxySecret.key | quote }}
{{- else if .Values.controlPlane.proxyUrl }}
{{- if regexMatch "^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@]*@" .Values.controlPlane.proxyUrl }}
{{- fail "controlPlane.proxyUrl holds credentials: put the URL in a Secret and set controlPlane.proxySecret.name (and .key) instead, so it is not stored in the Deployment" }}
{{- end }}
- name: GATEWAY_PROXY_URL
  value: {{ .Values.controlPlane.proxyUrl | quote }}
{{- end }}
{{- end -}}

{{- define "gateway-operator.connectionVolumeMounts" -}}
{{- if .Values.controlPlane.tokenSecret.name }}
- name: token
  mountPath: /var/run/secrets/gateway-operator/token
  readOnly: true
{{- end }}
{{- if or .Values.controlPlane.caBundle.secretName .Values.controlPlane.caBundle.configMapName }}
- name: ca
  mountPath: /var/run/secrets/gateway-operator/ca
  readOnly: true
{{- end }}
{{- if .Values.controlPlane.clientCertSecret }}
- name: client
  mountPath: /var/run/secrets/gateway-operator/client
  readOnly: true
{{- end }}
{{- end -}}

{{- define "gateway-operator.connectionVolumes" -}}
{{- if .Values.controlPlane.tokenSecret.name }}
# Mounted without subPath, so a rotated Secret reaches the file and the operator dials with it.
- name: token
  secret:
    secretName: {{ .Values.controlPlane.tokenSecret.name }}
    items:
      - key: {{ .Values.controlPlane.tokenSecret.key }}
        path: token
{{- end }}
{{- if .Values.controlPlane.caBundle.secretName }}
- name: ca
  secret:
    secretName: {{ .Values.controlPlane.caBundle.secretName }}
    items:
      - key: {{ .Values.controlPlane.caBundle.key }}
        path: ca.crt
{{- else if .Values.controlPlane.caBundle.configMapName }}
- name: ca
  configMap:
    name: {{ .Values.controlPlane.caBundle.configMapName }}
    items:
      - key: {{ .Values.controlPlane.caBundle.key }}
        path: ca.crt
{{- end }}
{{- if .Values.controlPlane.clientCertSecret }}
- name: client
  secret:
    secretName: {{ .Values.controlPlane.clientCertSecret }}
{{- end }}
{{- end -}}

{{/*
The port of the control plane's proxy, for the NetworkPolicy: networkPolicy.proxy.port, else proxyUrl's (the
scheme's default without one, as the operator's proxy agent does). Empty when there is no proxy.
*/}}
{{- define "gateway-operator.proxyPort" -}}
{{- if or .Values.controlPlane.proxyUrl .Values.controlPlane.proxySecret.name }}
{{- if .Values.networkPolicy.proxy.port }}
{{- .Values.networkPolicy.proxy.port }}
{{- else if .Values.controlPlane.proxySecret.name }}
{{- fail "networkPolicy.proxy.port is required when networkPolicy.enabled and controlPlane.proxySecret is set: the proxy URL is in the Secret, out of the chart's sight" }}
{{- else }}
{{- $url := urlParse .Values.controlPlane.proxyUrl }}
{{- regexFind "[0-9]+$" (regexFind ":[0-9]+$" $url.host) | default (ternary "443" "80" (eq $url.scheme "https")) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* PromQL label matchers of this release's series (the alerts'): prometheusRule.selector, else what the ServiceMonitor scrapes them as. */}}
{{- define "gateway-operator.metricsSelector" -}}
{{- .Values.prometheusRule.selector | default (printf "job=\"%s-metrics\", namespace=\"%s\"" (include "gateway-operator.fullname" .) .Release.Namespace) -}}
{{- end -}}
