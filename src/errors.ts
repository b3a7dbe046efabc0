import { brandClass } from './class-brand.js';
/**
 * Thrown when options passed to a slotwise constructor or function are invalid. The message names
 * the option, what was expected and what was given.
 */
export class SlotwiseOptionsError extends TypeError {
  override name = 'SlotwiseOptionsError';
}
brandClass(SlotwiseOptionsError, 'SlotwiseOptionsError');
