/** cocli's slugify: lowercase; every run of characters outside [a-z0-9] becomes one `-`; `-` trimmed at both ends. */
export declare function slugify(name: string): string;
/** True when `s` is a usable folder slug: `^[a-z0-9-]+$`, 3 to 255 characters. */
export declare function isValidSlug(s: string): boolean;
