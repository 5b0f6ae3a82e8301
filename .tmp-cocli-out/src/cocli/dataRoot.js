// Locates cocli's data root the way cocli does (COCLI_DATA_HOME, platform base, COCLI_ENV).
// Reads only the environment, the OS, and (to resolve symlinks) fs.realpathSync.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
function expandHome(p, home, pathMod) {
    if (p === '~')
        return home;
    if (p.startsWith('~/') || (pathMod === path.win32 && p.startsWith('~\\')))
        return pathMod.join(home, p.slice(2));
    return p;
}
/**
 * Like Python's Path.resolve(strict=False): make absolute, resolve symlinks of
 * the longest existing prefix, and keep the rest as written.
 */
function resolveLikePython(p, pathMod, native) {
    const abs = pathMod.resolve(p);
    if (!native)
        return abs; // a foreign platform's path: leave the filesystem alone
    const rest = [];
    let cur = abs;
    for (;;) {
        try {
            const real = fs.realpathSync(cur);
            return rest.length === 0 ? real : pathMod.join(real, ...rest.reverse());
        }
        catch {
            const parent = pathMod.dirname(cur);
            if (parent === cur)
                return abs;
            rest.push(pathMod.basename(cur));
            cur = parent;
        }
    }
}
/** True for production: COCLI_ENV unset/empty, `prod` or `production` (case-insensitive). */
export function isProductionEnv(env = process.env) {
    const v = (env.COCLI_ENV ?? '').trim().toLowerCase();
    return v === '' || v === 'prod' || v === 'production';
}
/** cocli's base folder for this platform (holds data/ and data_dev/). */
export function cocliBaseDir(env = process.env, platform = process.platform, home = os.homedir()) {
    if (platform === 'win32') {
        const local = env.LOCALAPPDATA && env.LOCALAPPDATA !== '' ? env.LOCALAPPDATA : path.win32.join(home, 'AppData', 'Local');
        return path.win32.join(local, 'cocli');
    }
    if (platform === 'darwin')
        return path.posix.join(home, 'Library', 'Application Support', 'cocli');
    return path.posix.join(home, '.local', 'share', 'cocli');
}
/**
 * cocli's data root: COCLI_DATA_HOME (with `~` expanded and symlinks resolved)
 * if set; else `<base>/data`, or `<base>/data_dev` outside production.
 */
export function resolveDataRoot(env = process.env, platform = process.platform, home = os.homedir()) {
    const pathMod = platform === 'win32' ? path.win32 : path.posix;
    const custom = env.COCLI_DATA_HOME;
    if (custom !== undefined && custom !== '') {
        const native = (platform === 'win32') === (process.platform === 'win32');
        return resolveLikePython(expandHome(custom, home, pathMod), pathMod, native);
    }
    return pathMod.join(cocliBaseDir(env, platform, home), isProductionEnv(env) ? 'data' : 'data_dev');
}
//# sourceMappingURL=dataRoot.js.map