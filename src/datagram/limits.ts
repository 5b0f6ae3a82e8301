// Hard limits every datagram must respect; a datagram past any of them is invalid everywhere.
export const LIMITS = {
  /** canonical bytes of one datagram */
  maxBytes: 256 * 1024,
  /** ops in one datagram */
  maxOps: 4096,
  /** parents of one datagram */
  maxParents: 64,
  /** UTF-8 bytes of any single string value (the body included) */
  maxValueBytes: 128 * 1024,
  /** length of a field name or map key */
  maxKeyLength: 128,
  /** nesting depth of a structured value under an unknown key */
  maxDepth: 8,
  /** cluster id length */
  maxClusterLength: 64,
} as const;
