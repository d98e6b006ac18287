import dns from 'node:dns/promises';
import net from 'node:net';
import util from 'node:util';
export class BindError extends Error {
    code;
    constructor(code, message) {
        super(message);
        this.code = code;
    }
}
/**
 * Binds the listening socket in the primary without accepting on it. Workers
 * get it over IPC and call listen() on their copy, so it is one socket that
 * stays open as long as the primary lives: while no worker is alive (a crash
 * with --workers 1), the kernel queues new connections for the replacement
 * instead of refusing them. (node:cluster closes its shared socket when its
 * last worker exits, and re-binds `--port 0` to a different port.)
 *
 * Uses net._createServerHandle, the same call node:cluster's primary makes.
 */
export async function bindListenSocket(host, port) {
    let address = host;
    let family = net.isIP(host);
    if (family === 0) {
        const found = await dns.lookup(host).catch(() => undefined);
        if (!found)
            throw new BindError('ENOTFOUND', `cannot resolve --host ${host}`);
        address = found.address;
        family = found.family;
    }
    const create = net._createServerHandle;
    const handle = create(address, port, family);
    if (typeof handle === 'number') {
        const code = util.getSystemErrorName(handle);
        throw new BindError(code, `${code} binding ${address}:${port}`);
    }
    // libuv defers a failed bind() (EADDRINUSE...) to listen(), which happens in the workers on
    // their copies of the fd: there an unbound socket would silently listen on a random port.
    // getsockname reports the deferred error now.
    const out = {};
    const err = handle.getsockname(out);
    if (err < 0 || !out.port) {
        handle.close();
        const code = err < 0 ? util.getSystemErrorName(err) : 'EADDRNOTAVAIL';
        throw new BindError(code, `${code} binding ${address}:${port}`);
    }
    return { handle, address: out.address ?? address, port: out.port ?? port };
}
//# sourceMappingURL=listen-socket.js.map