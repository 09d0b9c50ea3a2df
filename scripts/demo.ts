/**
 * `npm run demo`: a SuiteCRM simulator on a loopback port and the proxy in front of it,
 * plus curl commands that work. Ctrl-C stops both.
 */
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { startFakeSuiteCrm, DEFAULT_CLIENTS } from '../test/support/fake-suitecrm.js';

const port = process.env.PROXY_PORT ?? '8080';
const suitecrm = await startFakeSuiteCrm({ quiet: true });
const client = DEFAULT_CLIENTS.find((c) => c.grant === 'client_credentials')!;
const config = loadConfig({
  LOG_LEVEL: 'info',
  ...process.env,
  SUITECRM_URL: suitecrm.url,
  SUITECRM_CLIENT_ID: client.id,
  SUITECRM_CLIENT_SECRET: client.secret,
  PROXY_HOST: '127.0.0.1',
  PROXY_PORT: port,
});
const app = await buildApp(config);
try {
  await app.listen({ host: config.host, port: config.port });
} catch (err) {
  process.stderr.write(`demo: cannot listen on 127.0.0.1:${port} (${(err as NodeJS.ErrnoException).code}); try PROXY_PORT=8081 npm run demo\n`);
  await suitecrm.close();
  process.exit(1);
}
const base = `http://127.0.0.1:${port}`;
process.stdout.write(`
suitecrm-auth-proxy demo
  SuiteCRM simulator: ${suitecrm.url}  (client_credentials client "${client.id}")
  proxy:              ${base}  -> no token needed from you

Try (in another terminal):
  curl -s ${base}/Api/V8/module/Accounts
  curl -s -X POST ${base}/Api/V8/module -H 'Content-Type: application/vnd.api+json' \\
       -d '{"data":{"type":"Accounts","attributes":{"name":"Demo Ltd"}}}'
  curl -s -g '${base}/Api/V8/module/Accounts?page[size]=5'   # -g: brackets are not curl globs
  curl -s ${base}/Api/V8/current-user
  curl -s ${base}/_proxy/readyz
  curl -s ${base}/_proxy/healthz

Press Ctrl-C to stop.
`);
const stop = async (): Promise<void> => {
  await app.close();
  await suitecrm.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
