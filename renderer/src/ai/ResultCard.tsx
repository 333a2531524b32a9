/**
 * The AI reading of one slice. First, in words, which state the answer is in: answered, outside intended use (no
 * label, no probability: the reason instead), or unlike the training data (label shown, "the AI may be wrong here").
 * Then the label and probability, the detector's flag as a separate marker worded by what the detector has been
 * measured to see (DetectorEvidence: today "unusual", not "attack"), the OOD score, models (with an untrained
 * warning), EP and timings.
 */
import type { DetectorEvidence, ScanResult, ScanThresholds } from '../../../electron/features/api.js';
import {
  flagWording, formatPercent, labelText, modelLine, oodLine, predictedProbability, purifyLine, scoreLine, staleThresholdsNote, STATE_TEXT, stateLine, timingLines,
  untrainedModels,
} from './format.js';

export function ResultCard({ result: r, evidence, thresholds }: { result: ScanResult; evidence?: DetectorEvidence; thresholds?: ScanThresholds | null }) {
  const untrained = untrainedModels(r.models);
  const stale = staleThresholdsNote(r, thresholds);
  const outside = r.state === 'outside-intended-use';
  const flag = flagWording(evidence);
  return (
    <div className="ai-result" data-testid="ai-result" data-state={r.state} data-label={r.label ?? 'none'} data-flagged={String(r.flagged)}>
      <div className={`ai-state ${r.state}`} data-testid="ai-state" data-state={r.state} role="status">
        <strong data-testid="ai-state-title">{STATE_TEXT[r.state]}</strong>
        <span data-testid="ai-state-text">{stateLine(r)}</span>
      </div>
      {stale && <div className="ai-warning" data-testid="ai-stale-thresholds">{stale}</div>}
      {r.intendedUse.status === 'research-benchmark' && <div className="ai-warning" data-testid="ai-research-benchmark">{r.intendedUse.note}</div>}

      {!outside && (
        <>
          <div className={`ai-label-row${r.state === 'unlike-training-data' ? ' doubtful' : ''}`}>
            <span className={`ai-label ${r.label ?? ''}`} data-testid="ai-label">{labelText(r.label)}</span>
            <span className="ai-prob" data-testid="ai-probability">{formatPercent(predictedProbability(r))}</span>
          </div>
          <div className="muted">p(tumour) {formatPercent(r.probabilities?.[1])}{r.mode !== 'adaptive' ? ` · mode ${r.mode}` : ''}</div>

          {r.flagged ? (
            <div className="ai-flag flagged" data-testid="ai-flag" data-flagged="true" data-alert={String(r.securityAlert)}>
              <span className={`badge ${evidence?.supportsAttackClaim ? 'bad' : 'warn'}`}>{flag.badge}</span>
              <span className="ai-flag-text">
                <span>{flag.text}</span>
                <span className="muted ai-flag-limit">
                  {r.securityAlert
                    ? 'Recorded in the audit log as a security alert (in intended use, like the training data).'
                    : 'No security alert: the slice is unlike the training data, which explains a high score.'}
                </span>
              </span>
            </div>
          ) : (
            <div className="ai-flag" data-testid="ai-flag" data-flagged="false">
              <span className="badge ok">not flagged</span>
              <span className="ai-flag-text">
                <span className="muted">{r.tStar > 0 ? 'classified after purification' : 'classified on the image as stored'}</span>
                <span className="muted ai-flag-limit" data-testid="ai-flag-limit">
                  Not flagged is not proof of a clean scan: the detector misses small perturbations (docs/ROBUSTNESS.md).
                </span>
              </span>
            </div>
          )}
          <dl className="ai-facts">
            <dt>Detector</dt><dd className="mono" data-testid="ai-score">{scoreLine(r)}</dd>
            <dt>Unlike training</dt><dd className="mono" data-testid="ai-ood">{oodLine(r)}</dd>
            <dt>Purifier</dt><dd className="mono" data-testid="ai-purify">{purifyLine(r)}</dd>
            <dt>Thresholds</dt><dd className="mono">{r.thresholdsSource ? `${r.thresholdsSource} ${r.thresholdsCreatedUtc?.slice(0, 10) ?? ''}` : '—'}</dd>
          </dl>

          <h4>Models</h4>
          {untrained.length > 0 && (
            <div className="ai-warning" role="alert" data-testid="ai-untrained">
              ⚠ Untrained development weights ({untrained.join(', ')}): this result means nothing clinically.
            </div>
          )}
          <ul className="ai-models" data-testid="ai-models">
            {r.models.map((m) => (
              <li key={m.name} className="mono" title={`sha256 ${m.sha256}`} data-trained={String(m.trained)}>
                {modelLine(m)}{m.trained ? '' : ' · UNTRAINED'}
              </li>
            ))}
          </ul>
        </>
      )}
      <dl className="ai-facts">
        {r.ep !== null && <><dt>EP</dt><dd className="mono" data-testid="ai-ep">{r.ep}</dd></>}
        {timingLines(r.timings).map(([k, v]) => (
          <Fact key={k} k={k} v={v} />
        ))}
        <dt>{outside ? 'Checked' : 'Scanned'}</dt><dd className="mono">{r.createdUtc.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</dd>
      </dl>
    </div>
  );
}

function Fact({ k, v }: { k: string; v: string }) {
  return (
    <>
      <dt>{k}</dt>
      <dd className="mono">{v}</dd>
    </>
  );
}
