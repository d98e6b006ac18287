/** Chunk size for large bodies; each chunk is written, and the next read waits for drain when the socket is full. */
export const CHUNK = 256 * 1024;
export const IO_MODES = ['sync', 'stream', 'async'];
/** Resolves true on 'drain', false if the socket closes first. */
export function waitDrain(socket) {
    if (socket.destroyed)
        return Promise.resolve(false);
    return new Promise((resolve) => {
        const onDrain = () => {
            socket.off('close', onClose);
            resolve(true);
        };
        const onClose = () => {
            socket.off('drain', onDrain);
            resolve(false);
        };
        socket.once('drain', onDrain);
        socket.once('close', onClose);
    });
}
function shortRead(webroot) {
    return new Error(`${webroot.file}: short read (file changed on disk?)`);
}
/** Positioned synchronous reads: the fastest on a warm page cache, no thread-pool hop. */
const syncExecutor = {
    mode: 'sync',
    read(webroot, object, start, end) {
        const buf = Buffer.allocUnsafe(end - start);
        if (webroot.readSync(object, start, end - start, buf) !== buf.length)
            throw shortRead(webroot);
        return buf;
    },
    async pump(socket, webroot, object, start, end) {
        let pos = start;
        while (pos < end) {
            if (socket.destroyed)
                return false;
            const n = Math.min(CHUNK, end - pos);
            const buf = Buffer.allocUnsafe(n);
            if (webroot.readSync(object, pos, n, buf) !== n)
                throw shortRead(webroot);
            pos += n;
            if (!socket.write(buf) && pos < end && !(await waitDrain(socket)))
                return false;
        }
        return !socket.destroyed;
    },
};
/** Thread-pool reads (filehandle-style), the same loop as sync with an await per chunk. */
const asyncExecutor = {
    mode: 'async',
    async read(webroot, object, start, end) {
        const buf = Buffer.allocUnsafe(end - start);
        if ((await webroot.read(object, start, end - start, buf)) !== buf.length)
            throw shortRead(webroot);
        return buf;
    },
    async pump(socket, webroot, object, start, end) {
        let pos = start;
        while (pos < end) {
            if (socket.destroyed)
                return false;
            const n = Math.min(CHUNK, end - pos);
            const buf = Buffer.allocUnsafe(n);
            if ((await webroot.read(object, pos, n, buf)) !== n)
                throw shortRead(webroot);
            pos += n;
            if (socket.destroyed)
                return false;
            if (!socket.write(buf) && pos < end && !(await waitDrain(socket)))
                return false;
        }
        return !socket.destroyed;
    },
};
/** A sendfile-like stream of the byte range straight from the open descriptor, piped with backpressure. */
const streamExecutor = {
    mode: 'stream',
    read(webroot, object, start, end) {
        if (end <= start)
            return Buffer.alloc(0);
        return new Promise((resolve, reject) => {
            const parts = [];
            const rs = webroot.createReadStream(object, start, end - 1);
            rs.on('data', (c) => parts.push(c));
            rs.on('error', reject);
            rs.on('end', () => resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts)));
        });
    },
    pump(socket, webroot, object, start, end) {
        return new Promise((resolve, reject) => {
            if (socket.destroyed)
                return resolve(false);
            const rs = webroot.createReadStream(object, start, end - 1, CHUNK);
            const onClose = () => {
                rs.destroy();
                resolve(false);
            };
            socket.once('close', onClose);
            rs.on('error', (err) => {
                socket.off('close', onClose);
                rs.unpipe(socket);
                reject(err);
            });
            rs.on('end', () => {
                socket.off('close', onClose);
                resolve(!socket.destroyed);
            });
            rs.pipe(socket, { end: false });
        });
    },
};
export function executorFor(mode) {
    return mode === 'sync' ? syncExecutor : mode === 'async' ? asyncExecutor : streamExecutor;
}
//# sourceMappingURL=executors.js.map