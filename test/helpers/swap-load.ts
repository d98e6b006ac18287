import { KeepAliveClient, raw, type RawResponse } from './raw.js';

/**
 * The clients of the swap-under-load tests (hot-swap, large-site): keep-alive
 * connections and a new connection per request, each asking `pick(i)` until
 * `stopped()`, handing every response to `note` and every failure to `failures`.
 */
export function swapLoadClients(
  port: number,
  pick: (i: number) => [string, Record<string, string>],
  note: (target: string, r: RawResponse) => void,
  failures: string[],
  stopped: () => boolean,
): { keepAlive: (seed: number) => Promise<void>; fresh: (seed: number) => Promise<void> } {
  const keepAlive = async (seed: number) => {
    const c = new KeepAliveClient(port);
    for (let i = seed; !stopped(); i++) {
      const [target, h] = pick(i);
      try {
        note(target, await c.request('GET', target, h));
      } catch (e) {
        failures.push(`keep-alive ${target}: ${(e as Error).message}`);
        return;
      }
    }
    c.close();
  };
  const fresh = async (seed: number) => {
    for (let i = seed; !stopped(); i++) {
      const [target, h] = pick(i);
      try {
        note(target, await raw(port, 'GET', target, h));
      } catch (e) {
        failures.push(`fresh ${target}: ${(e as Error).message}`);
      }
    }
  };
  return { keepAlive, fresh };
}
