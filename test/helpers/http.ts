/** HTTP with a chosen Host header (node:http: fetch does not let a caller set Host), one connection per request. */
import { request, type IncomingHttpHeaders } from 'node:http';

export interface HostResponse {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
}

export function requestWithHost(port: number, host: string, path = '/', headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<HostResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host, ...headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
