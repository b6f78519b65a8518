/**
 * IdentityCacheOptions say which objects a cache may remember.
 */
export interface IdentityCacheOptions {
  /**
   * Remember values only for frozen objects, and compute afresh for others:
   * a frozen message cannot change after its value was computed, while a
   * handler may well reuse and mutate a plain one. Default false: every
   * object is remembered (for objects immutable by contract, such as the
   * market's snapshots).
   */
  frozenOnly?: boolean;
}

/**
 * identityCache returns `compute`, remembering its result per object for as
 * long as the object lives. An update fanned out to many streams is one
 * object, so whatever is derived from it (a message, its JSON text, its
 * framed bytes) is derived once, not once per stream. Further arguments
 * only serve the first computation for an object; they must follow from
 * the object itself (its schema, say).
 */
export function identityCache<K extends object, V, A extends unknown[] = []>(
  compute: (key: K, ...args: A) => V,
  options: IdentityCacheOptions = {},
): (key: K, ...args: A) => V {
  const values = new WeakMap<K, V>();
  const frozenOnly = options.frozenOnly ?? false;
  return (key, ...args) => {
    if (frozenOnly && !Object.isFrozen(key)) return compute(key, ...args);
    let value = values.get(key);
    if (value === undefined) {
      value = compute(key, ...args);
      values.set(key, value);
    }
    return value;
  };
}
