/** HTTP servers a test file starts on 127.0.0.1, port 0, closed together after each test. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class TestServers {
  readonly #all: Server[] = [];

  /** Starts `s` on 127.0.0.1, port 0; its base URL. */
  async listen(s: Server): Promise<string> {
    this.#all.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }

  /** Closes `s` (already listening) with the others. */
  keep(s: Server): Server {
    this.#all.push(s);
    return s;
  }

  /** Closes every server and drops its connections. */
  closeAll(): void {
    for (const s of this.#all.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
  }
}
