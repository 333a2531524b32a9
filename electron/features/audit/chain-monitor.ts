/**
 * The audit chain's live status. At start the whole chain is walked once (`start`: at once for a small log, in
 * chunks between other work for a large one, so a long log does not hold up the host: the status says "checking"
 * meanwhile); after that every appended row is checked on its own (`verifyFrom` the last verified row), so the
 * status every user sees is current without re-reading the log. `verifyNow` walks it all again (rows edited in place
 * after start are only caught by a full walk).
 *
 * A break — found at start or later — is recorded once (AuditStore.recordBreak) with a Security Alert row
 * (110113 / MFP-CHN, serious failure), and stays in `unacknowledged`, shown to every signed-in user, until an admin
 * acknowledges it with a note (audited, 110113 / MFP-ACK). Once broken, the status stays broken: the rows after a
 * break still chain to each other, but nothing after it can be vouched for from the start of the log.
 */
import type { ChainStatus } from './api.js';
import type { AuditStore } from './audit-store.js';
import { MFP_EVENT_TYPE } from './codes.js';
import { securityAlert, type AuditActor } from './events.js';

export class ChainMonitor {
  private verified: { seq: number; entryHash: string } = { seq: 0, entryHash: '' };
  private broken: { seq: number; reason: string } | null = null;
  private rows = 0;
  private checkedUtc = '';
  private fullCheckUtc = '';
  private recording = false;
  private checking = false;
  private stopped = false;

  constructor(
    private readonly audit: AuditStore,
    private readonly actor: AuditActor,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The walk at start: synchronous up to `syncRows` rows, else in chunks of 5,000 between other work. */
  start(syncRows = 20_000): void {
    if (this.audit.count() <= syncRows) {
      this.verifyNow();
      return;
    }
    this.checking = true;
    const steps = this.audit.verifySteps(5000);
    const step = (): void => {
      if (this.stopped) return;
      const r = steps.next();
      if (!r.done) {
        this.rows = r.value;
        setImmediate(step);
        return;
      }
      this.checking = false;
      this.finish(r.value);
    };
    setImmediate(step);
  }

  /** Stops a walk in progress (the store is closing). */
  stop(): void {
    this.stopped = true;
  }

  /** Walks the whole chain now; records a break if there is one. */
  verifyNow(): ChainStatus {
    this.checking = false;
    const steps = this.audit.verifySteps(Number.MAX_SAFE_INTEGER);
    for (;;) {
      const r = steps.next();
      if (r.done) {
        this.finish(r.value);
        return this.status();
      }
    }
  }

  private finish(r: { result: { ok: boolean; rows: number; firstBroken?: { seq: number; reason: string } }; last: { seq: number; entryHash: string } }): void {
    this.fullCheckUtc = this.checkedUtc = this.now().toISOString();
    this.rows = r.result.rows;
    if (r.result.ok) {
      this.broken = null;
      this.verified = r.last;
      this.onAppended(); // rows appended after the walk's last chunk
    } else {
      this.fail(r.result.firstBroken!);
    }
  }

  /** Checks the rows appended since the last check (call after each append). */
  onAppended(): void {
    if (this.broken || this.recording || this.checking || this.verified.entryHash === '') return;
    const r = this.audit.verifyFrom(this.verified);
    this.checkedUtc = this.now().toISOString();
    if (r.ok) {
      this.verified = r.head;
      this.rows = r.head.seq;
    } else {
      this.fail(r.firstBroken);
    }
  }

  private fail(firstBroken: { seq: number; reason: string }): void {
    this.broken = firstBroken;
    this.recording = true; // the alert below is itself an append: do not re-enter
    try {
      this.audit.recordBreak({ detectedUtc: this.now().toISOString(), firstBrokenSeq: firstBroken.seq, reason: firstBroken.reason }, () =>
        this.audit.append(securityAlert(this.actor, MFP_EVENT_TYPE.auditChainBroken, { message: 'audit log hash chain is broken', ...firstBroken }, { outcome: 'serious-failure' })).seq,
      );
    } finally {
      this.recording = false;
    }
  }

  /** An admin acknowledges a break (audited); false when there is no such unacknowledged break. */
  acknowledge(id: number, admin: AuditActor, note: string): boolean {
    const ok = this.audit.acknowledgeBreak(id, admin.userId, this.now().toISOString(), note);
    if (ok) {
      this.audit.append(securityAlert(admin, MFP_EVENT_TYPE.auditChainBreakAcknowledged, { breakId: id, note }, { outcome: 'success' }));
    }
    return ok;
  }

  status(): ChainStatus {
    const breaks = this.audit.breaks();
    return {
      ok: this.broken === null,
      checking: this.checking,
      rows: this.rows,
      ...(this.broken ? { firstBroken: this.broken } : {}),
      checkedUtc: this.checkedUtc,
      fullCheckUtc: this.fullCheckUtc,
      unacknowledged: breaks.filter((b) => b.acknowledged === null),
      breaks,
    };
  }
}
