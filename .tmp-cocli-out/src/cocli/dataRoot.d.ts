/** True for production: COCLI_ENV unset/empty, `prod` or `production` (case-insensitive). */
export declare function isProductionEnv(env?: NodeJS.ProcessEnv): boolean;
/** cocli's base folder for this platform (holds data/ and data_dev/). */
export declare function cocliBaseDir(env?: NodeJS.ProcessEnv, platform?: NodeJS.Platform, home?: string): string;
/**
 * cocli's data root: COCLI_DATA_HOME (with `~` expanded and symlinks resolved)
 * if set; else `<base>/data`, or `<base>/data_dev` outside production.
 */
export declare function resolveDataRoot(env?: NodeJS.ProcessEnv, platform?: NodeJS.Platform, home?: string): string;
