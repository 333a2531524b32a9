/** The audit feature's handlers: list and verify the hash-chained audit log (audit-store.ts). */
import type { FeatureHandlers } from '../../node/router/router.js';
import type { auditApi } from './api.js';
import type { AuditStore } from './audit-store.js';

export function auditHandlers(audit: AuditStore): FeatureHandlers<typeof auditApi> {
  return {
    'audit.list': (query) => audit.list(query),
    'audit.verify': () => audit.verify(),
  };
}
