/**
 * The VJP rule table: op type → rule. Each rule lives in rules/*.ts with a textbook table in its file header.
 * To add an op: write its rule next to similar ones, add it to the table below, and add a finite-difference case
 * to test/unit/native-models/vjp-rules.test.ts.
 */
import { convPoolRules } from './rules/conv-pool.js';
import { elementwiseRules } from './rules/elementwise.js';
import { linearRules } from './rules/linear.js';
import { normRules } from './rules/norm.js';
import { shapeRules } from './rules/shape.js';
import type { VjpRule } from './vjp.js';

export const VJP_RULES: Readonly<Record<string, VjpRule>> = {
  ...elementwiseRules,
  ...linearRules,
  ...convPoolRules,
  ...normRules,
  ...shapeRules,
};

export function vjpRule(op: string): VjpRule | undefined {
  return Object.prototype.hasOwnProperty.call(VJP_RULES, op) ? VJP_RULES[op] : undefined;
}

/** Ops whose outputs carry no gradient (bool/index producers, piecewise-constant); the backward pass skips them. */
export const NON_DIFFERENTIABLE = new Set(['Greater', 'Sign', 'ConstantOfShape', 'Shape']);
