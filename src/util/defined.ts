/** A copy of `obj` without the keys whose value is undefined (so that spreading it overrides nothing). */
export function definedOnly<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
