/**
 * The AI reading of one slice: label and probability, the detector's flag, the radiologist's decision on it
 * (DecisionControls), models (with an untrained warning), EP, timings.
 */
import type { ApiClient, ScanResult } from '../../../electron/features/api.js';
import { DecisionControls } from './DecisionControls.js';
import { formatPercent, labelText, modelLine, predictedProbability, purifyLine, scoreLine, timingLines, untrainedModels } from './format.js';

export function ResultCard({ result: r, client }: { result: ScanResult; client: ApiClient }) {
  const untrained = untrainedModels(r.models);
  return (
    <div className="ai-result" data-testid="ai-result" data-label={r.label} data-flagged={String(r.flagged)}>
      <div className="ai-label-row">
        <span className={`ai-label ${r.label}`} data-testid="ai-label">{labelText(r.label)}</span>
        <span className="ai-prob" data-testid="ai-probability">{formatPercent(predictedProbability(r))}</span>
      </div>
      <div className="muted">p(tumour) {formatPercent(r.probabilities[1])}{r.mode !== 'adaptive' ? ` · mode ${r.mode}` : ''}</div>

      {r.flagged ? (
        <div className="ai-flag flagged" data-testid="ai-flag" data-flagged="true" role="status">
          <span className="badge bad">FLAGGED</span>
          <span>Possible adversarial input: the detector's score is over the calibrated threshold, so the image was purified before classification.</span>
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
        <dt>Purifier</dt><dd className="mono" data-testid="ai-purify">{purifyLine(r)}</dd>
      </dl>

      <DecisionControls client={client} result={r} />

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
      <dl className="ai-facts">
        <dt>EP</dt><dd className="mono" data-testid="ai-ep">{r.ep}</dd>
        {timingLines(r.timings).map(([k, v]) => (
          <Fact key={k} k={k} v={v} />
        ))}
        <dt>Scanned</dt><dd className="mono">{r.createdUtc.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</dd>
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
