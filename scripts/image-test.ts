/**
 * `npm run test:image`: builds the Dockerfile with podman, runs the image against the SuiteCRM
 * test double on this host and checks what a production user relies on: the image's settings,
 * a proxied request, --check-config inside the container, the HEALTHCHECK, node as PID 1
 * exiting 0 on SIGTERM, and the image defaults (0.0.0.0:8080) in a private network namespace.
 *
 * Needs root, podman and the local base image (bash ../shared/tools/oci/make-base.sh). Every
 * podman call has a timeout, the whole run has a deadline, and containers are removed at the end.
 * Lives outside test/ so `node --test dist/test/` never picks it up.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startFakeSuiteCrm } from '../test/support/fake-suitecrm/server.js';
import { DEFAULT_CLIENTS } from '../test/support/fake-suitecrm/types.js';
import { freePort } from '../test/support/free-port.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const IMAGE = process.env.IMAGE_TEST_TAG ?? 'localhost/suitecrm-auth-proxy:image-test';
const BUILD_TIMEOUT_MS = 15 * 60_000;
const COMMAND_TIMEOUT_MS = 60_000;
const OVERALL_DEADLINE_MS = 25 * 60_000;
const RUN_ID = `sap-image-test-${process.pid}`;
const CONTAINERS = [`${RUN_ID}-host`, `${RUN_ID}-defaults`];

interface Result { code: number; stdout: string; stderr: string }

function run(cmd: string, args: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<Result> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: ROOT, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 124) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

let passed = 0;
let failed = 0;
function check(name: string, ok: boolean, detail = ''): void {
  if (ok) passed++;
  else failed++;
  process.stdout.write(`image-test: ${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` (${detail})` : ''}\n`);
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 1000 && Date.now() < deadline; attempt++) {
    if (await probe().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  process.stdout.write(`image-test: gave up waiting for ${what} after ${timeoutMs} ms\n`);
  return false;
}

async function removeContainers(): Promise<void> {
  for (const name of CONTAINERS) await run('podman', ['rm', '-f', '-t', '2', name]);
}

async function inspect(format: string, target: string, kind: 'image' | 'container' = 'container'): Promise<string> {
  const r = await run('podman', [kind, 'inspect', '--format', format, target]);
  return r.stdout.trim();
}

async function buildImage(): Promise<boolean> {
  const started = performance.now();
  // --format docker: the OCI format has no HEALTHCHECK field and podman would drop it.
  const build = await run('podman', ['build', '--format', 'docker', '-t', IMAGE, '.'], BUILD_TIMEOUT_MS);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  check('image builds', build.code === 0, build.code === 0 ? `${seconds} s` : build.stderr.split('\n').slice(-5).join(' | '));
  if (build.code !== 0) return false;
  const bytes = Number(await inspect('{{.Size}}', IMAGE, 'image'));
  process.stdout.write(`image-test: image ${IMAGE}: ${(bytes / 1e6).toFixed(1)} MB, build ${seconds} s\n`);
  return true;
}

async function checkImageConfig(): Promise<void> {
  const env = await inspect('{{json .Config.Env}}', IMAGE, 'image');
  check('image sets PROXY_HOST=0.0.0.0 and PROXY_PORT=8080', env.includes('"PROXY_HOST=0.0.0.0"') && env.includes('"PROXY_PORT=8080"'), env);
  const user = await inspect('{{.Config.User}}', IMAGE, 'image');
  check('image runs as the non-root user node', user === 'node', user);
  const health = await inspect('{{json .Config.Healthcheck}}', IMAGE, 'image');
  check('image has a node HEALTHCHECK', health.includes('healthcheck.js') && !/curl|wget/.test(health), health);
  const tools = await run('podman', ['run', '--rm', '--network', 'none', '--entrypoint', 'sh', IMAGE, '-c', 'command -v curl wget || true']);
  check('image has neither curl nor wget', tools.code === 0 && tools.stdout.trim() === '', tools.stdout.trim());
}

async function checkAgainstDouble(secretDir: string): Promise<void> {
  const crm = await startFakeSuiteCrm();
  const port = await freePort();
  const client = DEFAULT_CLIENTS[0]!;
  try {
    const started = await run('podman', [
      'run', '-d', '--name', CONTAINERS[0]!, '--network', 'host', '--read-only', '--cap-drop', 'ALL',
      // Host network: keep the listener on loopback instead of the image's 0.0.0.0.
      '-e', 'PROXY_HOST=127.0.0.1', '-e', `PROXY_PORT=${port}`,
      '-e', `SUITECRM_URL=${crm.url}`, '-e', `SUITECRM_CLIENT_ID=${client.id}`,
      '-e', 'SUITECRM_CLIENT_SECRET_FILE=/run/secrets/suitecrm/client-secret',
      '-v', `${secretDir}:/run/secrets/suitecrm:ro`,
      IMAGE,
    ]);
    // On success stderr only holds podman's note that it cannot schedule periodic healthchecks
    // without systemd; `podman healthcheck run` below runs the check on demand instead.
    check('container starts', started.code === 0, started.code === 0 ? '' : started.stderr.trim());
    if (started.code !== 0) return;
    const base = `http://127.0.0.1:${port}`;
    const ready = await waitFor('/_proxy/readyz', async () => (await fetch(`${base}/_proxy/readyz`)).status === 200, 30_000);
    check('readiness answers 200 (token obtained from the double)', ready);
    const res = await fetch(`${base}/Api/V8/meta/modules`);
    await res.arrayBuffer();
    const seen = crm.requests.find((r) => r.path === '/Api/V8/meta/modules');
    check('proxied request answers 200 with the token injected', res.status === 200 && typeof seen?.headers.authorization === 'string' && seen.headers.authorization.startsWith('Bearer '), `status ${res.status}`);
    const health = await run('podman', ['healthcheck', 'run', CONTAINERS[0]!]);
    check('podman healthcheck run reports healthy', health.code === 0, `${health.stdout.trim()} ${health.stderr.trim()}`.trim());
    const pid1 = await run('podman', ['exec', CONTAINERS[0]!, 'cat', '/proc/1/cmdline']);
    check('node is PID 1', pid1.stdout.split('\0')[0] === 'node', pid1.stdout.replace(/\0/g, ' ').trim());
    const checkConfig = await run('podman', ['exec', CONTAINERS[0]!, 'node', '/app/dist/src/main.js', '--check-config']);
    check('--check-config inside the container exits 0', checkConfig.code === 0 && checkConfig.stdout.includes('result: OK'), checkConfig.stdout.split('\n').filter((l) => l.startsWith('result') || l.includes('FAILED')).join(' | '));
    check('--check-config prints no secret', !checkConfig.stdout.includes(client.secret) && !checkConfig.stderr.includes(client.secret));
    const stopStarted = performance.now();
    const stop = await run('podman', ['stop', '-t', '20', CONTAINERS[0]!]);
    const stopSeconds = (performance.now() - stopStarted) / 1000;
    const exitCode = await inspect('{{.State.ExitCode}}', CONTAINERS[0]!);
    check('SIGTERM to PID 1 stops the proxy with exit code 0 (not killed)', stop.code === 0 && exitCode === '0', `exit ${exitCode} after ${stopSeconds.toFixed(1)} s`);
    const logs = await run('podman', ['logs', CONTAINERS[0]!]);
    check('container logs hold no secret and no token', !`${logs.stdout}${logs.stderr}`.includes(client.secret) && !/Bearer [A-Za-z0-9]/.test(`${logs.stdout}${logs.stderr}`));
  } finally {
    await crm.close();
  }
}

async function checkDefaults(): Promise<void> {
  // The image's own 0.0.0.0:8080, in a network namespace of its own so nothing outside can reach it.
  // 0.0.0.0 without inbound credentials must be allowed explicitly (inbound access control refuses
  // it otherwise); nothing can connect here, so allowing it is safe. SuiteCRM is not needed for liveness.
  const started = await run('podman', [
    'run', '-d', '--name', CONTAINERS[1]!, '--network', 'none', '--read-only', '--cap-drop', 'ALL',
    '-e', 'PROXY_ALLOW_UNAUTHENTICATED=true',
    '-e', 'SUITECRM_URL=http://127.0.0.1:9', '-e', 'SUITECRM_CLIENT_ID=unused', '-e', 'SUITECRM_CLIENT_SECRET=unused',
    IMAGE,
  ]);
  if (started.code !== 0) {
    check('container with image defaults starts', false, started.stderr.trim());
    return;
  }
  const healthy = await waitFor('healthcheck on 0.0.0.0:8080', async () => (await run('podman', ['healthcheck', 'run', CONTAINERS[1]!])).code === 0, 30_000);
  const listening = await run('podman', ['exec', CONTAINERS[1]!, 'sh', '-c', 'cat /proc/net/tcp']);
  // 0.0.0.0:8080 in /proc/net/tcp is "00000000:1F90" in state 0A (LISTEN).
  check('image defaults: listens on 0.0.0.0:8080 and the HEALTHCHECK passes', healthy && /00000000:1F90 00000000:0000 0A/.test(listening.stdout));
}

async function main(): Promise<number> {
  const version = await run('podman', ['--version']);
  if (version.code !== 0) {
    process.stdout.write('image-test: podman not found; run bash ../shared/tools/oci/make-base.sh first\n');
    return 2;
  }
  const secretDir = mkdtempSync(join(tmpdir(), 'sap-image-test-'));
  chmodSync(secretDir, 0o755);
  const secretFile = join(secretDir, 'client-secret');
  writeFileSync(secretFile, `${DEFAULT_CLIENTS[0]!.secret}\n`);
  chmodSync(secretFile, 0o644); // the container's uid 1000 must read it
  const watchdog = setTimeout(() => {
    process.stdout.write(`image-test: FAIL overall deadline of ${OVERALL_DEADLINE_MS / 60000} min passed\n`);
    void removeContainers().finally(() => process.exit(1));
  }, OVERALL_DEADLINE_MS);
  try {
    await removeContainers();
    if (await buildImage()) {
      await checkImageConfig();
      await checkAgainstDouble(secretDir);
      await checkDefaults();
    }
  } finally {
    await removeContainers();
    rmSync(secretDir, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
  process.stdout.write(`image-test: ${passed} passed, ${failed} failed\n`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

process.exitCode = await main();
