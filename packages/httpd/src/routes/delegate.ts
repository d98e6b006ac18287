/**
 * The part of the lightweight Request and Response (lazy-request.ts,
 * light-response.ts) that keeps them complete: every member of the real
 * class's prototype that the light one does not implement itself is defined
 * to act on a real object made on first use (`materialize`), and so are the
 * internal slots (undici's symbol-keyed state) that Node's fetch reads when
 * given one (`new Request(light)`, `fetch(light)`). Whatever a handler does
 * with one works as with the real class; only the members the light class
 * implements skip the real object's cost.
 */

const PROMISED = new Set(['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text']);

export function delegateRest(proto: object, real: { prototype: object }, probe: object, own: ReadonlySet<string>, materialize: (self: object) => Record<string | symbol, unknown>): void {
  for (const name of Object.getOwnPropertyNames(real.prototype)) {
    if (name === 'constructor' || own.has(name)) continue;
    const d = Object.getOwnPropertyDescriptor(real.prototype, name)!;
    if (d.get) {
      Object.defineProperty(proto, name, { get: function (this: object) { return materialize(this)[name]; }, configurable: true });
    } else if (typeof d.value === 'function') {
      const promised = PROMISED.has(name);
      Object.defineProperty(proto, name, {
        value: function (this: object, ...args: unknown[]) {
          // A body read rejects (it does not throw) when the real object cannot be made, e.g. from a locked body.
          if (!promised) return (materialize(this)[name] as (...a: unknown[]) => unknown)(...args);
          try {
            return (materialize(this)[name] as (...a: unknown[]) => unknown)(...args);
          } catch (err) {
            return Promise.reject(err);
          }
        },
        writable: true,
        configurable: true,
      });
    }
  }
  for (const sym of Object.getOwnPropertySymbols(probe)) {
    Object.defineProperty(proto, sym, { get: function (this: object) { return materialize(this)[sym]; }, configurable: true });
  }
}
