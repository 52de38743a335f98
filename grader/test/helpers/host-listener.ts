import { once } from 'node:events';
import net from 'node:net';

/**
 * A listener on every address of this host that counts the connections reaching it: what a
 * hostile submission tries to reach through its network's gateway, and must never reach.
 */
export interface HostListener {
  readonly port: number;
  connections(): number;
  close(): void;
}

export async function hostListener(): Promise<HostListener> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  server.listen(0, '0.0.0.0');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections, close: () => void server.close() };
}
