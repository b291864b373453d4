/**
 * At most max connections open at once from one client address on a listening server (each router worker, the API
 * port, the rendezvous port counts its own); the next is closed as it arrives, before a byte is read, until one of
 * that address's ends. A client cannot take every socket and file descriptor of the edge by opening connections and
 * holding them (the idle and first-byte timeouts end them only after a while).
 */
import type { Server, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

export interface AddressCap {
  /** Connections open now from the address. */
  open(address: string): number;
  /** Connections refused so far. */
  refused(): number;
}

export function capPerAddress(server: Server, max: number): AddressCap {
  const open = new Map<string, number>();
  let refused = 0;
  server.prependListener('connection', (socket: Socket) => {
    if (socket instanceof TLSSocket) return; // handed over decrypted from the TLS port: counted there
    const address = socket.remoteAddress ?? '';
    const n = (open.get(address) ?? 0) + 1;
    if (n > max) {
      refused++;
      socket.destroy();
      return;
    }
    open.set(address, n);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
  return { open: (address) => open.get(address) ?? 0, refused: () => refused };
}
