/**
 * A TCP proxy to the test PostgreSQL that can stop passing bytes either way without closing anything:
 * a database that hangs, as a stopped server or a network that drops packets looks to its clients.
 * `url` is the database's URL through the proxy.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface FreezableProxy {
  url: string;
  freeze(): void;
  thaw(): void;
  close(): void;
}

export async function freezableProxy(databaseUrl: string): Promise<FreezableProxy> {
  const target = new URL(databaseUrl);
  const pairs: Array<[Socket, Socket]> = [];
  let frozen = false;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) s.on('error', () => undefined);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.push(pair);
    // Either end closing closes the other, and the pair is forgotten.
    const forget = () => {
      client.destroy();
      upstream.destroy();
      const i = pairs.indexOf(pair);
      if (i >= 0) pairs.splice(i, 1);
    };
    client.once('close', forget);
    upstream.once('close', forget);
    if (!frozen) (client.pipe(upstream), upstream.pipe(client));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(databaseUrl);
  url.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: url.toString(),
    freeze() {
      frozen = true;
      for (const [a, b] of pairs) (a.unpipe(b), b.unpipe(a), a.pause(), b.pause());
    },
    thaw() {
      if (!frozen) return;
      frozen = false;
      for (const [a, b] of pairs) (a.pipe(b), b.pipe(a));
    },
    close() {
      for (const [a, b] of pairs) (a.destroy(), b.destroy());
      server.close();
    },
  };
}
