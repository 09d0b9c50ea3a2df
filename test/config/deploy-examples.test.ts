/**
 * The deployment files in config/ and the Dockerfile are parsed and checked against the code:
 * every variable they set is a real setting (or its _FILE form), the values pass the real
 * validation, secrets come from mounted files, and probes point at routes the app serves.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { buildApp } from '../../src/app.js';
import { overlayEnv, readConfigFile } from '../../src/config/file.js';
import { loadConfig, type Config, type Env } from '../../src/config/load.js';
import { SETTINGS, type SettingSpec } from '../../src/config/settings.js';
import { pino } from 'pino';

const root = new URL('../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const specs = SETTINGS as readonly SettingSpec[];
/** Every env name an example sets must be a real setting (or its _FILE form). */
const SETTING_NAMES = new Set(specs.map((s) => s.env));
const SECRET_NAMES = new Set(specs.filter((s) => s.secret).map((s) => s.env));
const PROXY = 'suitecrm-auth-proxy';

/** Names an example may set: every setting and its `_FILE` form. */
function assertKnownSettings(names: Iterable<string>, where: string): void {
  for (const name of names) {
    const base = name.endsWith('_FILE') ? name.slice(0, -'_FILE'.length) : name;
    assert.ok(SETTING_NAMES.has(name) || SETTING_NAMES.has(base), `${where}: ${name} is not a setting in src/config/settings.ts`);
    assert.ok(!SECRET_NAMES.has(name), `${where}: secret ${name} is set in plain text; use ${name}_FILE`);
  }
}

/** loadConfig with every *_FILE answered by a placeholder, as the mounted secret would be. */
function loadWithMountedSecrets(env: Env): Config {
  return loadConfig(env, () => 'placeholder-secret\n');
}

async function assertServedRoute(config: Config, path: string, where: string): Promise<void> {
  const app = await buildApp(config, { logger: pino({ level: 'silent' }) });
  try {
    await app.ready();
    assert.ok(app.hasRoute({ method: 'GET', url: path }), `${where}: ${path} is not a route of the proxy`);
  } finally {
    await app.close();
  }
}

test('compose: the proxy is a sidecar with its secret from a file and only real settings', () => {
  const compose = parse(read('config/compose/docker-compose.yml')) as {
    services: Record<string, { environment?: Record<string, string | number>; secrets?: string[]; network_mode?: string; stop_grace_period?: string; build?: string }>;
    secrets: Record<string, { file?: string }>;
  };
  const proxy = compose.services[PROXY];
  assert.ok(proxy?.environment, 'a suitecrm-auth-proxy service with environment');
  assert.equal(proxy.build, '../..', 'builds the repository Dockerfile');
  const names = Object.keys(proxy.environment);
  assertKnownSettings(names, 'docker-compose.yml');
  const fileSettings = names.filter((n) => n.endsWith('_FILE'));
  assert.ok(fileSettings.includes('SUITECRM_CLIENT_SECRET_FILE'), 'the client secret comes from a file');
  for (const name of fileSettings) {
    const secret = /^\/run\/secrets\/([\w.-]+)$/.exec(String(proxy.environment[name]))?.[1];
    assert.ok(secret && proxy.secrets?.includes(secret), `${name} points at a secret of this service`);
    assert.ok(compose.secrets[secret]?.file, `secret ${secret} is read from a file`);
  }
  // Compose interpolation: ${NAME:-default} -> default, ${NAME:?message} -> a sample value.
  const env = Object.fromEntries(Object.entries(proxy.environment).map(([k, v]) => [k, String(v)
    .replace(/\$\{\w+:-([^}]*)\}/g, '$1')
    .replace(/\$\{\w+:\?[^}]*\}/g, 'https://crm.example.com')]));
  const config = loadWithMountedSecrets(env);
  // A loopback listener is only reachable by services that share the proxy's network namespace.
  assert.equal(config.host, '127.0.0.1');
  const app = Object.entries(compose.services).find(([name]) => name !== PROXY);
  assert.equal(app?.[1].network_mode, `service:${PROXY}`, 'the sample service shares the proxy network namespace');
  const grace = /^(\d+)s$/.exec(proxy.stop_grace_period ?? '')?.[1];
  assert.ok(Number(grace) * 1000 > config.shutdownTimeoutMs, 'stop_grace_period is longer than SHUTDOWN_TIMEOUT_SECONDS, so the drain ends before SIGKILL');
});

interface Probe { httpGet?: { path?: string; port?: string | number }; timeoutSeconds?: number }
interface Container {
  name: string;
  env?: Array<{ name: string; value?: string }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  readinessProbe?: Probe; livenessProbe?: Probe; startupProbe?: Probe;
}
interface PodSpec {
  initContainers?: Container[]; containers: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string } }>;
  securityContext?: { fsGroup?: number };
  terminationGracePeriodSeconds?: number;
}

test('kubernetes: sidecar probes hit /_proxy/readyz and /_proxy/healthz, secrets are mounted files', async () => {
  const docs = parseAllDocuments(read('config/kubernetes/suitecrm-auth-proxy-sidecar.yaml')).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS() as { kind: string; spec: { template?: { spec: PodSpec } } };
  });
  const deployment = docs.find((d) => d.kind === 'Deployment');
  const pod = deployment?.spec.template?.spec;
  assert.ok(pod, 'a Deployment with a pod template');
  const proxy = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === PROXY);
  assert.ok(proxy?.env, 'a suitecrm-auth-proxy container with env');
  assertKnownSettings(proxy.env.map((e) => e.name), 'kubernetes sidecar');
  const env = Object.fromEntries(proxy.env.map((e) => [e.name, e.value]));
  const config = loadWithMountedSecrets(env);

  for (const { name, value } of proxy.env.filter((e) => e.name.endsWith('_FILE'))) {
    const mount = proxy.volumeMounts?.find((m) => value?.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `${name} lies under a volume mount`);
    assert.ok(pod.volumes?.find((v) => v.name === mount.name)?.secret, `${name} comes from a Secret volume`);
  }
  assert.equal(pod.securityContext?.fsGroup, 1000, 'the image user (uid/gid 1000) can read the secret files');

  const portOf = (probe: Probe | undefined): number | undefined => {
    const port = probe?.httpGet?.port;
    return typeof port === 'number' ? port : proxy.ports?.find((p) => p.name === port)?.containerPort;
  };
  assert.equal(proxy.readinessProbe?.httpGet?.path, '/_proxy/readyz');
  assert.equal(proxy.livenessProbe?.httpGet?.path, '/_proxy/healthz');
  for (const probe of [proxy.readinessProbe, proxy.livenessProbe, proxy.startupProbe].filter((p) => p !== undefined)) {
    assert.equal(portOf(probe), config.port, `${probe.httpGet?.path} probes the port the proxy listens on`);
    await assertServedRoute(config, probe.httpGet?.path ?? '', 'kubernetes probe');
  }
  // readyz may wait for one token request (TOKEN_REQUEST_TIMEOUT_SECONDS + 1 s) before answering.
  assert.ok((proxy.readinessProbe?.timeoutSeconds ?? 1) * 1000 >= config.tokenRequestTimeoutMs + 1000, 'readiness timeout covers one token request');
  assert.notEqual(config.host, '127.0.0.1', 'kubelet probes reach the pod IP, so the proxy listens beyond loopback');
  assert.ok(docs.some((d) => d.kind === 'NetworkPolicy'), 'a NetworkPolicy keeps other pods off the proxy port');
  assert.ok((pod.terminationGracePeriodSeconds ?? 30) * 1000 > config.shutdownTimeoutMs, 'terminationGracePeriodSeconds outlasts the drain');
});

test('systemd: Environment= names are settings, the secret comes from a credential file', () => {
  const unit = read('config/systemd/suitecrm-auth-proxy.service');
  const env = Object.fromEntries([...unit.matchAll(/^Environment=(\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  const names = Object.keys(env).filter((n) => n !== 'NODE_ENV');
  assert.ok(names.length > 0);
  assertKnownSettings(names, 'systemd unit');
  assert.match(env.SUITECRM_CLIENT_SECRET_FILE ?? '', /^%d\//, 'the secret is a LoadCredential= file');
  assert.match(unit, /^LoadCredential=suitecrm_client_secret:/m);
  assert.match(unit, /^ExecStart=.*suitecrm-auth-proxy --config %d\/config\.yaml$/m);
  const stopSeconds = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
  const config = loadWithMountedSecrets({ SUITECRM_URL: 'https://crm.example.com', SUITECRM_CLIENT_ID: 'id', ...env });
  assert.ok(stopSeconds * 1000 > config.shutdownTimeoutMs, 'TimeoutStopSec outlasts the drain');
});

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

test('systemd: systemd-analyze verify finds nothing to complain about', { skip: hasSystemdAnalyze ? false : 'systemd-analyze is not installed' }, () => {
  const unit = new URL('config/systemd/suitecrm-auth-proxy.service', root).pathname;
  // verify prints a line per unknown key or unparsable value; a clean unit prints nothing.
  const run = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0);
  assert.equal(`${run.stdout}${run.stderr}`, '');
});

test('example.env and the example YAML config hold valid settings only', () => {
  const lines = read('config/example.env').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const env = Object.fromEntries(lines.map((l) => {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(l);
    assert.ok(m, `example.env line is NAME=value: ${l}`);
    return [m[1]!, m[2]!];
  }));
  assertKnownSettings(Object.keys(env), 'example.env');
  loadWithMountedSecrets(env);

  const path = 'config/suitecrm-auth-proxy.example.yaml';
  const fromFile = readConfigFile(path, (p) => readFileSync(new URL(p, root), 'utf8'));
  assertKnownSettings(Object.keys(fromFile), path);
  const config = loadWithMountedSecrets(overlayEnv(fromFile, {}));
  assert.equal(config.host, '127.0.0.1');
});

test('Dockerfile: pinned base ARG, non-root, 0.0.0.0:8080 by ENV, node HEALTHCHECK, node as PID 1', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  assert.equal(instructions[0], 'ARG NODE_IMAGE=node:20-bookworm-slim', 'the base image is a build ARG, defined first');
  const stages = instructions.filter((l) => l.startsWith('FROM '));
  const named = new Set<string>();
  for (const stage of stages) {
    const [, base, name] = /^FROM (\S+)(?: AS (\S+))?$/.exec(stage) ?? [];
    assert.ok(base === '${NODE_IMAGE}' || named.has(base ?? ''), `every stage starts from NODE_IMAGE or an earlier stage: ${stage}`);
    if (name) named.add(name);
  }
  assert.ok(stages.length >= 2 && stages.at(-1) === 'FROM ${NODE_IMAGE}', 'multi-stage; the runtime stage starts afresh from NODE_IMAGE');
  const runtime = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));
  const has = (re: RegExp): boolean => runtime.some((l) => re.test(l));
  assert.ok(has(/^ENV .*PROXY_HOST=0\.0\.0\.0/) && has(/^ENV .*PROXY_PORT=8080/), 'listen address set by ENV');
  assert.ok(has(/^USER node$/), 'runs as the non-root node user');
  assert.ok(has(/^HEALTHCHECK .*CMD \["node", "\/app\/dist\/src\/cli\/healthcheck\.js"\]/), 'node healthcheck');
  assert.ok(!/curl|wget/.test(runtime.join('\n')), 'no curl or wget');
  assert.ok(has(/^ENTRYPOINT \["node", "\/app\/dist\/src\/main\.js"\]$/), 'exec-form ENTRYPOINT: node is PID 1');
  assert.ok(!has(/^COPY (?!--from=)(?!package\.json)/), 'the runtime stage copies only build output, production deps and package.json');
  // The files the image runs are the ones tsc emits.
  for (const file of ['dist/src/main.js', 'dist/src/cli/healthcheck.js']) assert.ok(readFileSync(new URL(file, root)).length > 0, file);
  const ignore = read('.dockerignore').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  assert.equal(ignore[0], '*', '.dockerignore starts from nothing and lists what the build needs');
  assert.ok(!ignore.some((l) => /node_modules|dist/.test(l)), 'node_modules and dist stay out of the context');
});
