/**
 * A TCP proxy in the test process, in front of a real server (the PostgreSQL, an SMTP server): a
 * fault test points the product at the proxy and cuts the network under it while it runs.
 */
import net from 'node:net';

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface TcpProxyOptions {
  target: ProxyTarget;
  /** Listen on this port (default: a free one), e.g. to bring a closed proxy back on the same address. */
  port?: number;
}

export interface CutOptions {
  /**
   * Send TCP RST instead of FIN: peers then see ECONNRESET ("connection reset") rather than an
   * orderly end of stream, as when a host or middlebox drops the connection state.
   */
  reset?: boolean;
}

export interface TcpProxy {
  /** The port the proxy listens on, on 127.0.0.1. */
  port: number;
  /** Ends every open connection now; until restore(), new connections are closed as soon as accepted. */
  cut(options?: CutOptions): void;
  restore(): void;
  isCut(): boolean;
  /** Client connections currently open through the proxy. */
  connections(): number;
  /** Client connections accepted since start, including those refused while cut. */
  accepted(): number;
  /** Stops listening and ends every connection. */
  close(): Promise<void>;
}

/** Errors a peer going away produces; anything else is still unexpected but must not crash the test. */
const swallow = () => undefined;

function end(socket: net.Socket, reset: boolean): void {
  if (socket.destroyed) return;
  // resetAndDestroy() throws on a socket that is not connected yet (an upstream still connecting).
  if (reset && !socket.connecting) socket.resetAndDestroy();
  else socket.destroy();
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const { target } = options;
  let cut: CutOptions | null = null;
  let accepted = 0;
  // Both sides of every pair, so that cut() and close() reach sockets still connecting upstream.
  const sockets = new Set<net.Socket>();
  const clients = new Set<net.Socket>();

  const track = (socket: net.Socket) => {
    sockets.add(socket);
    // A reset or a broken pipe is what a fault test provokes; an unhandled 'error' would crash Jest.
    socket.on('error', swallow);
    socket.once('close', () => sockets.delete(socket));
  };

  const server = net.createServer((client) => {
    accepted += 1;
    track(client);
    if (cut) {
      end(client, cut.reset ?? false);
      return;
    }
    clients.add(client);
    client.once('close', () => clients.delete(client));
    const upstream = net.connect({ host: target.host, port: target.port });
    track(upstream);
    // One side gone ends the other: a half-open pair would hide the fault from the product.
    client.once('close', () => end(upstream, cut?.reset ?? false));
    upstream.once('close', () => end(client, cut?.reset ?? false));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.on('error', swallow);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;

  const endAll = (reset: boolean) => {
    for (const socket of [...sockets]) end(socket, reset);
  };

  return {
    port,
    cut: (cutOptions = {}) => {
      cut = cutOptions;
      endAll(cutOptions.reset ?? false);
    },
    restore: () => {
      cut = null;
    },
    isCut: () => cut !== null,
    connections: () => clients.size,
    accepted: () => accepted,
    close: async () => {
      // The server reports closed before its sockets emit 'close'; wait for both so that nothing
      // of the proxy outlives this call (Jest would report the open handles).
      const closed = [
        new Promise<void>((resolve) => server.close(() => resolve())),
        ...[...sockets].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()))),
      ];
      endAll(false);
      await Promise.all(closed);
    },
  };
}

/** The target of a URL (postgresql://, smtp://), for a proxy in front of it. */
export function targetOf(url: string): ProxyTarget {
  const parsed = new URL(url);
  const defaults: Record<string, number> = { 'postgresql:': 5432, 'postgres:': 5432, 'smtp:': 25, 'smtps:': 465 };
  const port = parsed.port ? Number(parsed.port) : defaults[parsed.protocol];
  if (!port) throw new Error(`no port in ${parsed.protocol} URL and no default for it`);
  // A bracketed IPv6 host would reach net.connect with its brackets.
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/** The same URL (database name, user, query options kept) pointing at the proxy on 127.0.0.1. */
export function proxiedUrl(url: string, proxyPort: number): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxyPort);
  return parsed.toString();
}
