// What compiling better-sqlite3 from source needs (node-gyp: Python 3, make, a C++
// compiler, Node's headers), decided from a probe of the machine so it is tested with
// tables. Used by check-toolchain.mjs, which `pnpm install` runs first
// (pnpm:devPreinstall in the root package.json).

/**
 * @typedef {object} Probe
 * @property {string} platform  process.platform
 * @property {Record<string, string | undefined>} env
 * @property {(command: string) => boolean} has  whether a command is on PATH
 * @property {(file: string) => boolean} exists
 * @property {boolean} addonBuilt  better-sqlite3's addon is already built (a re-install builds nothing)
 * @property {string} nodeVersion  e.g. "20.20.2"
 * @property {string} home
 */

/**
 * @param {Probe} p
 * @returns {{ ok: boolean, missing: string[], notes: string[], message: string }}
 */
export function checkToolchain(p) {
  const none = { ok: true, missing: [], notes: [], message: '' };
  if (p.env.WEBROOT_SKIP_TOOLCHAIN_CHECK === '1' || p.addonBuilt || p.platform === 'win32') return none;
  const missing = [];
  const python = p.env.npm_config_python || p.env.PYTHON;
  if (!(python ? p.exists(python) || p.has(python) : p.has('python3') || p.has('python'))) missing.push('Python 3 (python3)');
  if (!p.has('make')) missing.push('make');
  const cxx = p.env.CXX;
  if (!(cxx ? p.has(cxx) || p.exists(cxx) : p.has('c++') || p.has('g++') || p.has('clang++'))) missing.push('a C++ compiler (g++ or clang++)');
  const notes = [];
  const nodedir = p.env.npm_config_nodedir;
  if (nodedir) {
    if (!p.exists(`${nodedir}/include/node/node.h`)) missing.push(`Node's headers at npm_config_nodedir=${nodedir} (no ${nodedir}/include/node/node.h)`);
  } else if (!p.exists(`${p.home}/.cache/node-gyp/${p.nodeVersion}/include/node/node.h`)) {
    notes.push(
      p.exists('/usr/include/node/node.h')
        ? "node-gyp will download Node's headers; offline, use the installed ones: export npm_config_nodedir=/usr"
        : "node-gyp will download Node's headers (offline, install them and set npm_config_nodedir)",
    );
  }
  if (missing.length === 0) return { ok: true, missing, notes, message: '' };
  const install =
    p.platform === 'darwin'
      ? '  macOS:          xcode-select --install'
      : '  Debian/Ubuntu:  apt-get install -y python3 make g++\n  Fedora/RHEL:    dnf install -y python3 make gcc-c++\n  Alpine:         apk add python3 make g++';
  const message =
    `webroot: cannot install: the SQLite binding (better-sqlite3) compiles a C++ addon during install, and this machine lacks: ${missing.join(', ')}.\n` +
    `Install them, then run pnpm install again:\n${install}\n` +
    (notes.length ? `Note: ${notes.join('; ')}\n` : '') +
    'If this machine can download a prebuilt better-sqlite3 binary instead, skip this check: WEBROOT_SKIP_TOOLCHAIN_CHECK=1 pnpm install\n';
  return { ok: false, missing, notes, message };
}
