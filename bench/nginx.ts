/**
 * nginx as the reference reverse proxy: one worker, a static Bearer header, keep-alive to the
 * upstream, an access log line per request (buffered, as nginx is usually run). Installs nginx
 * with apt-get when it is missing and the user may; otherwise the benchmark skips it and says so.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The nginx binary, installing it when allowed; undefined (with the reason) when unavailable. */
export function findNginx(install: boolean): { path?: string; note: string } {
  const found = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx 2>/dev/null'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  if (found) return { path: found, note: `nginx found at ${found}` };
  if (!install) return { note: 'nginx is not installed and --no-install was given: nginx skipped' };
  if (process.getuid?.() !== 0) return { note: 'nginx is not installed and installing it needs root (apt-get install nginx-light): nginx skipped' };
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx-light'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch {
    return { note: 'nginx is not installed and apt-get install nginx-light failed: nginx skipped' };
  }
  return { path: '/usr/sbin/nginx', note: 'nginx installed with apt-get (nginx-light)' };
}

/** Writes a config for one nginx process (no master, so its CPU is one pid) and returns its path. */
export function writeNginxConfig(dir: string, port: number, upstreamPort: number, authorization: string): string {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log ${join(dir, 'logs', 'access.log')} combined buffer=64k flush=1s;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  keepalive_requests 1000000;
  upstream suitecrm { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://suitecrm;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "${authorization}";
    }
  }
}
`;
  const path = join(dir, 'nginx.conf');
  writeFileSync(path, conf);
  return path;
}
