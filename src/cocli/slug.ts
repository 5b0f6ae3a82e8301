// cocli's slug rule for company/person folder names: slugify() and the validity check.

/** cocli's slugify: lowercase; every run of characters outside [a-z0-9] becomes one `-`; `-` trimmed at both ends. */
export function slugify(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

const SLUG_RE = /^[a-z0-9-]{3,255}$/;

/** True when `s` is a usable folder slug: `^[a-z0-9-]+$`, 3 to 255 characters. */
export function isValidSlug(s: string): boolean {
  return SLUG_RE.test(s);
}
