import { PROCESS_STATE_VERSION } from './process-state.js';

const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];

/**
 * Makes `value instanceof cls` true for instances of `cls` made by any copy of slotwise's code in the
 * process, not only by this copy.
 *
 * The package ships an ES module and a CommonJS build; a program that loads both has two
 * `FixedSlotSupplier` classes, and `instanceof` would tell their instances apart (a supplier
 * `require`d by one module is "not a slotwise supplier" to a composite `import`ed by another). Each
 * branded class marks its prototype with a `Symbol.for` brand (the same symbol in every copy) and
 * answers `instanceof` by the brand. Subclasses written by users keep ordinary `instanceof`.
 *
 * @example
 * ```ts
 * import { brandClass } from 'slotwise/internal/class-brand.js';
 * class Thing {}
 * brandClass(Thing, 'Thing');
 * new Thing() instanceof Thing; // => true, and so is a Thing from the other build of slotwise
 * ```
 */
export function brandClass(cls: { readonly prototype: object }, id: string): void {
  const brand = Symbol.for(`slotwise.class.v${PROCESS_STATE_VERSION}.${id}`);
  Object.defineProperty(cls.prototype, brand, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      if (ordinaryHasInstance.call(this, value)) return true;
      // A user's subclass inherits this static method: it answers for its own class only.
      if (this !== cls) return false;
      return (typeof value === 'object' || typeof value === 'function') && value !== null && brand in value;
    },
  });
}
