/**
 * A TCP relay in front of the SuiteCRM double that makes kept-alive sockets go stale the way a
 * load balancer or NAT with a short idle timeout does: once `staleAfterMs` is set, a request
 * written on a connection that has been idle that long is answered with a TCP reset instead of
 * being passed on. To the proxy this is the classic stale keep-alive socket (ECONNRESET before
 * any answer), and SuiteCRM never sees the request. `resetDelayMs` holds the request before the
 * reset, like a middlebox that drops silently and resets only later.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface StaleSocketRelay {
  readonly url: string;
  /** Mutable: undefined passes everything through. */
  staleAfterMs: number | undefined;
  /** Mutable: how long a request on a stale socket waits for its reset. */
  resetDelayMs: number;
  /** Requests cut so far. */
  readonly cut: number;
  close(): Promise<void>;
}

export async function startStaleSocketRelay(targetPort: number): Promise<StaleSocketRelay> {
  const sockets = new Set<Socket>();
  let cut = 0;
  const relay = {
    url: '',
    staleAfterMs: undefined as number | undefined,
    resetDelayMs: 0,
    get cut() {
      return cut;
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let lastActivity = performance.now();
    let exchanged = false;
    let cutting = false;
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      if (cutting) return;
      const idle = performance.now() - lastActivity;
      if (exchanged && relay.staleAfterMs !== undefined && idle >= relay.staleAfterMs) {
        cut += 1;
        cutting = true;
        setTimeout(() => {
          client.resetAndDestroy();
          upstream.destroy();
        }, relay.resetDelayMs);
        return;
      }
      lastActivity = performance.now();
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      exchanged = true;
      lastActivity = performance.now();
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  relay.url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return relay;
}
