/**
 * The agent's one error type. Every refusal (bad object, bad payload, policy, transport) carries a stable code so that
 * the audit trail, the status events and the tests can tell them apart without parsing messages.
 */
export type FlErrorCode =
  | 'FL_OBJECT_HASH_MISMATCH' // an object's content does not hash to its id
  | 'FL_OBJECT_MALFORMED' // head/body do not parse, wrong type, children inconsistent with the tree
  | 'FL_OBJECT_MISSING' // the SuperLink does not have an object the tree names
  | 'FL_PAYLOAD_TOO_LARGE' // over the configured byte or object cap
  | 'FL_NPY_UNSUPPORTED' // an Array that is not a C-order little-endian float32 .npy
  | 'FL_WEIGHTS_MISMATCH' // names, shapes or dtypes do not match the local model
  | 'FL_NONFINITE' // NaN or Inf in received or produced weights
  | 'FL_BAD_MESSAGE' // a message that breaks the protocol rules (ids, metadata, records)
  | 'FL_UNSUPPORTED_MESSAGE_TYPE' // not train / evaluate
  | 'FL_POLICY_REFUSED' // outside the site policy
  | 'FL_NO_DATA' // no confirmed cases to train or evaluate on
  | 'FL_TIMEOUT' // a call or a stream that did not finish in time
  | 'FL_TRANSPORT' // the SuperLink is unreachable or answered with a gRPC error
  | 'FL_KEY' // the node key cannot be read or written safely
  | 'FL_BAD_ARGUMENT';

export class FlError extends Error {
  constructor(
    readonly code: FlErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FlError';
  }
}

export function isFlError(e: unknown, code?: FlErrorCode): e is FlError {
  return e instanceof FlError && (code === undefined || e.code === code);
}
