import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { helpText, runCli, version, type CliIO } from '../../src/cli/arguments.js';
import { SETTINGS, type SettingSpec } from '../../src/config/settings.js';

function io(files: Record<string, string> = {}): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    readFile: (path) => {
      if (path in files) return files[path]!;
      return readFileSync(path, 'utf8');
    },
  };
}

test('--help lists every setting with its env name and default, and every option', async () => {
  const cli = io();
  assert.deepEqual(await runCli(['--help'], {}, cli), { run: false, exitCode: 0 });
  const help = cli.out.join('');
  assert.equal(help, helpText());
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const line = help.split('\n').find((l) => l.startsWith(`  ${spec.env}  (`));
    assert.ok(line, `${spec.env} is listed`);
    if (spec.default !== undefined) assert.ok(line.includes(`default: ${spec.default}`), `${spec.env} shows its default: ${line}`);
    else assert.ok(line.includes('no default'), line);
    if (spec.secret) assert.ok(line.includes(`${spec.env}_FILE`), `${spec.env} mentions its _FILE form`);
    const firstDocWords = spec.doc.split(/\s+/).slice(0, 3).join(' ');
    assert.ok(help.replace(/\s+/g, ' ').includes(firstDocWords), `${spec.env} doc is shown`);
  }
  for (const option of ['--config FILE', '--check-config', '--help', '--version']) assert.ok(help.includes(option), option);
  assert.ok(help.split('\n').every((l) => l.length <= 100), 'lines fit a terminal');
});

test('-h is --help, -v and --version print the package version', async () => {
  const short = io();
  await runCli(['-h'], {}, short);
  assert.equal(short.out.join(''), helpText());
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(version(), pkg.version);
  for (const flag of ['--version', '-v']) {
    const cli = io();
    assert.deepEqual(await runCli([flag], {}, cli), { run: false, exitCode: 0 });
    assert.equal(cli.out.join(''), `suitecrm-auth-proxy ${pkg.version}\n`);
  }
});

test('unknown options and stray arguments exit 2 with one line pointing at --help', async () => {
  for (const argv of [['--bogus'], ['serve'], ['--config']]) {
    const cli = io();
    assert.deepEqual(await runCli(argv, {}, cli), { run: false, exitCode: 2 });
    assert.equal(cli.err.length, 1, argv.join(' '));
    assert.match(cli.err[0]!, /^suitecrm-auth-proxy: .*; see suitecrm-auth-proxy --help\n$/);
  }
});

test('without options the environment passes through unchanged', async () => {
  const env = { SUITECRM_URL: 'https://crm.example.com', OTHER: 'x' };
  assert.deepEqual(await runCli([], env, io()), { run: true, env, configPath: undefined });
});

test('--config and CONFIG_FILE merge the file under the environment; --config wins over CONFIG_FILE', async () => {
  const files = {
    '/a.yaml': 'SUITECRM_URL: https://a.example.com\nPROXY_PORT: 1111\n',
    '/b.json': '{"SUITECRM_URL": "https://b.example.com"}',
  };
  const viaFlag = await runCli(['--config', '/a.yaml'], { PROXY_PORT: '2222', CONFIG_FILE: '/b.json' }, io(files));
  assert.ok(viaFlag.run);
  assert.equal(viaFlag.env.SUITECRM_URL, 'https://a.example.com');
  assert.equal(viaFlag.env.PROXY_PORT, '2222');
  const viaEnv = await runCli([], { CONFIG_FILE: '/b.json' }, io(files));
  assert.ok(viaEnv.run);
  assert.equal(viaEnv.env.SUITECRM_URL, 'https://b.example.com');
  const short = await runCli(['-c', '/b.json'], {}, io(files));
  assert.ok(short.run && short.env.SUITECRM_URL === 'https://b.example.com');
});

test('a bad config file exits 2 (1 with --check-config) with one line naming CONFIG_FILE', async () => {
  const files = { '/bad.yaml': 'suitecrm_url: x\n' };
  const start = io(files);
  assert.deepEqual(await runCli(['--config', '/bad.yaml'], {}, start), { run: false, exitCode: 2 });
  assert.deepEqual(start.err, ['suitecrm-auth-proxy: invalid configuration: CONFIG_FILE: /bad.yaml: unknown setting "suitecrm_url"; did you mean SUITECRM_URL? (keys are the environment variable names that --help lists)\n']);
  const check = io(files);
  assert.deepEqual(await runCli(['--check-config', '--config', '/bad.yaml'], {}, check), { run: false, exitCode: 1 });
  assert.equal(check.err.length, 1);
});
