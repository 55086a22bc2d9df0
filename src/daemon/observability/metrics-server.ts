// --metrics ADDR:PORT: a small HTTP server with GET /metrics in Prometheus text format. It binds
// only the address it is given, caps its connections and request time, and runs beside the RPC
// transports on the same event loop without ever holding them up (scrapes are asynchronous).

import http from 'node:http';
import { MAX_METRICS_CONNECTIONS, METRICS_REQUEST_TIMEOUT_MS } from '../../limits.js';
import { describeListenError, type TransportLog } from '../../transport/handler.js';
import type { DaemonMetrics } from './metrics.js';
import type { ListenAddress } from '../daemon-options.js';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export function startMetricsServer(at: ListenAddress, m: DaemonMetrics, log: TransportLog): Promise<MetricsServer> {
  const server = http.createServer(
    { requestTimeout: METRICS_REQUEST_TIMEOUT_MS, headersTimeout: METRICS_REQUEST_TIMEOUT_MS },
    (req, res) => {
      res.on('error', () => {});
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return;
      }
      if (path !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found; try /metrics\n');
        return;
      }
      m.scrape().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': m.registry.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (e: unknown) => {
          log.error(`metrics: ${(e as Error).message}`);
          res.writeHead(500).end();
        },
      );
    },
  );
  server.maxConnections = MAX_METRICS_CONNECTIONS;
  server.keepAliveTimeout = METRICS_REQUEST_TIMEOUT_MS;
  server.on('clientError', (_e, sock) => sock.destroy());
  const where = `metrics on ${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(new Error(describeListenError(`cannot serve ${where}`, e)));
    server.once('error', onError);
    server.listen({ host: at.host, port: at.port, exclusive: true, ipv6Only: at.host.includes(':') }, () => {
      server.off('error', onError);
      server.on('error', (e) => log.warn(`metrics server: ${e.message}`));
      m.enableDefaultMetrics();
      const addr = server.address();
      log.info(`serving ${where}/metrics`);
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : at.port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
