{{- define "wif.labels" -}}
azure-workload-identity.io/system: "true"
app.kubernetes.io/name: wif-webhook
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}
{{- define "wif.selector" -}}
azure-workload-identity.io/system: "true"
app.kubernetes.io/component: webhook
{{- end }}
