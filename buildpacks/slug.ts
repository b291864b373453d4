/**
 * The slug's limits. A slug is the compiled /app as layers by role (server/images/slug-layers.ts); one made before
 * layers is a single tar.gz in DATA/slugs, still read (server/images/slug-lowers.ts) but no longer made.
 */
export class SlugTooLargeError extends Error {}

/** How much larger than its compressed limit a slug may unpack to (a highly compressible tree is refused). */
export const UNPACKED_FACTOR = 8;
