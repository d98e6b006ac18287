export const CONFIG_ENV = 'WEBROOT_HTTPD_CONFIG';
/** Parses sizes like 0, 4096, 512K, 64M, 1G (binary units). */
export function parseSize(value) {
    const m = /^(\d+)([kmg]i?b?)?$/i.exec(value.trim());
    if (!m)
        return undefined;
    const unit = (m[2] ?? '').charAt(0).toLowerCase();
    const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
    return Number(m[1]) * mult;
}
//# sourceMappingURL=config.js.map