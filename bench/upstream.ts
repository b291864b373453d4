/** The bench upstream (a trivial dyno): GET /small → 100 B, /large → 64 KiB, keep-alive. argv: PORT. */
import { createServer } from 'node:http';

const small = Buffer.alloc(100, 'a');
const large = Buffer.alloc(64 * 1024, 'b');
const server = createServer((req, res) => {
  const body = req.url === '/large' ? large : small;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
