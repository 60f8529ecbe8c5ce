// A loopback TCP server standing for a backend no route may reach (an unexposed Service, the apiserver): it
// counts every connection made to it and drops it, so a test can show the tunnel never dialled it.
import { createServer, type AddressInfo } from 'node:net';

export interface RefusingServer {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startRefusingServer(): Promise<RefusingServer> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
