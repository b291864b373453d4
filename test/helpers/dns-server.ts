/**
 * A DNS server for tests, on UDP loopback: a stand-in for the world's DNS, which this machine cannot reach. Answers
 * TXT and A questions from maps the test fills, NXDOMAIN for a name in neither, no answer for another type of a
 * known name. Enough of RFC 1035 for c-ares (Node's resolver) to read, so a test can point SLIPWAY_DNS_SERVERS at it.
 */
import { createSocket } from 'node:dgram';

export interface TestDns {
  /** 127.0.0.1:PORT, as SLIPWAY_DNS_SERVERS takes it. */
  address: string;
  txt: Map<string, string[]>;
  /** IPv4 addresses by name. */
  a: Map<string, string[]>;
  queries: string[];
  close(): Promise<void>;
}

function readName(msg: Buffer, at: number): { name: string; end: number } {
  const labels: string[] = [];
  while (msg[at] !== 0) {
    labels.push(msg.toString('latin1', at + 1, at + 1 + msg[at]));
    at += 1 + msg[at];
  }
  return { name: labels.join('.').toLowerCase(), end: at + 1 };
}

export async function startTestDns(): Promise<TestDns> {
  const socket = createSocket('udp4');
  const txt = new Map<string, string[]>();
  const a = new Map<string, string[]>();
  const queries: string[] = [];
  socket.on('message', (msg, from) => {
    if (msg.length < 17) return;
    const { name, end } = readName(msg, 12);
    const qtype = msg.readUInt16BE(end);
    queries.push(name);
    const question = msg.subarray(12, end + 4);
    const values = qtype === 16 ? txt.get(name) : undefined;
    const addresses = (qtype === 1 ? a.get(name) : undefined) ?? [];
    const aAnswers = addresses.map((ip) => {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(4, 10);
      ip.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
      return rr;
    });
    const answers = [...aAnswers, ...(values ?? []).map((v) => {
      const data = Buffer.from(v);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // the question's name
      rr.writeUInt16BE(16, 2); // TXT
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(data.length + 1, 10);
      return Buffer.concat([rr, Buffer.from([data.length]), data]);
    })];
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    header.writeUInt16BE(txt.has(name) || a.has(name) ? 0x8180 : 0x8183, 2); // a name we do not know: NXDOMAIN
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(Buffer.concat([header, question, ...answers]), from.port, from.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    txt,
    a,
    queries,
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}
