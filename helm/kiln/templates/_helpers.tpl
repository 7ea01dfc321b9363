{{- define "kiln.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "kiln.labels" -}}
app.kubernetes.io/name: kiln
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kiln.agentName" -}}{{ .Release.Name }}-agent{{- end -}}
{{- define "kiln.serverName" -}}{{ .Release.Name }}-server{{- end -}}

{{/* External ClickHouse: a URL in values or in a Secret of the user's. */}}
{{- define "kiln.externalClickHouse" -}}
{{- if or .Values.server.clickhouse.url .Values.server.clickhouse.existingSecret }}true{{ end -}}
{{- end -}}

{{- define "kiln.clickhouseSecretName" -}}
{{ .Values.server.clickhouse.existingSecret | default (printf "%s-clickhouse" .Release.Name) }}
{{- end -}}

{{- define "kiln.clickhouseSecretKey" -}}
{{ if .Values.server.clickhouse.existingSecret }}{{ .Values.server.clickhouse.existingSecretKey }}{{ else }}url{{ end }}
{{- end -}}

{{- define "kiln.authEnabled" -}}
{{- if or .Values.auth.token .Values.auth.existingSecret }}true{{ end -}}
{{- end -}}

{{- define "kiln.authSecretName" -}}
{{ .Values.auth.existingSecret | default (printf "%s-auth" .Release.Name) }}
{{- end -}}

{{/* Where the token file is mounted, in the server and the agent alike. */}}
{{- define "kiln.authSecretKey" -}}
{{ if .Values.auth.existingSecret }}{{ .Values.auth.existingSecretKey }}{{ else }}token{{ end }}
{{- end -}}

{{- define "kiln.authDir" -}}/etc/kiln/auth{{- end -}}

{{- define "kiln.authVolume" -}}
- name: auth
  secret:
    secretName: {{ include "kiln.authSecretName" . }}
    items: [{ key: {{ include "kiln.authSecretKey" . | quote }}, path: token }]
    # Group-readable: the server reads it as its fsGroup, not as root.
    defaultMode: 0440
{{- end -}}

{{- define "kiln.authMount" -}}
- { name: auth, mountPath: {{ include "kiln.authDir" . }}, readOnly: true }
{{- end -}}

{{- define "kiln.authEnv" -}}
- { name: KILN_AUTH_TOKEN_FILE, value: {{ include "kiln.authDir" . }}/token }
{{- end -}}
