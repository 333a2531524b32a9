/** Typed errors of the attack library and the robustness benchmark. */
export type AttackErrorCode =
  /** Inconsistent attack or graph configuration (sizes, steps, ε, α). */
  | 'E_ATTACK_CONFIG'
  /** A combination the attacks do not support (e.g. a detector score kind without a gradient). */
  | 'E_ATTACK_UNSUPPORTED'
  /** Bad command-line option of the benchmark. */
  | 'E_BENCH_OPTION'
  /** A report folder written with other settings (models, data, attack parameters). */
  | 'E_BENCH_RESUME';

export class AttackError extends Error {
  constructor(readonly code: AttackErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AttackError';
  }
}
