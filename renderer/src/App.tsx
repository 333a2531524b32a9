/**
 * The workstation shell: header with view switch, and two views — the viewer (import, study list, series
 * thumbnails, toolbar, viewport with AI overlays and slice marks, AI panel) and the audit review. Talks to the services only through `ApiClient`.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ApiClient, AppInfo, ImportResult, SeriesSummary, StudySummary } from '../../electron/features/api.js';
import { AiPanel } from './ai/AiPanel.js';
import { SliceMarks } from './ai/SliceMarks.js';
import { useScanResults } from './ai/useScanResults.js';
import { ViewportLegend } from './ai/ViewportLegend.js';
import { AuditPage } from './audit/AuditPage.js';
import { FlPage } from './fl/FlPage.js';
import { ImportControl } from './import/ImportControl.js';
import { PacsPanel } from './pacs/PacsPanel.js';
import { SeriesStrip } from './studies/SeriesStrip.js';
import { StudyList } from './studies/StudyList.js';
import { errorMessage } from './util.js';
import { FrameCache, FrameLoader } from './viewer/frame-cache.js';
import { hotkeyHelp, installHotkeys } from './viewer/hotkeys.js';
import { Measurements } from './viewer/Measurements.js';
import { Toolbar } from './viewer/Toolbar.js';
import { ViewerGrid, type Layout } from './viewer/ViewerGrid.js';
import { INITIAL_UI, type ViewportController, type ViewportUiState } from './viewer/viewport-controller.js';

/** Decoded frames kept in memory (Float32 pixels): 256 MiB ≈ 1000 slices of 256×256. */
const FRAME_CACHE_BYTES = 256 * 1024 * 1024;
const PREFETCH_CONCURRENCY = 4;

type View = 'viewer' | 'audit' | 'fl';

export function App({ client }: { client: ApiClient }) {
  const [view, setView] = useState<View>('viewer');
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [studies, setStudies] = useState<StudySummary[]>([]);
  const [studiesLoading, setStudiesLoading] = useState(true);
  const [studiesError, setStudiesError] = useState<string | undefined>();
  const [query, setQuery] = useState('');
  const [leftTab, setLeftTab] = useState<'local' | 'pacs'>('local');
  const [pacsMarks, setPacsMarks] = useState<Map<string, { endpointId: string; local: 'none' | 'partial' | 'complete'; stored: boolean }>>(new Map());
  const [selectedStudy, setSelectedStudy] = useState<StudySummary | null>(null);
  const [series, setSeries] = useState<SeriesSummary[]>([]);
  const [activeSeriesUid, setActiveSeriesUid] = useState<string | null>(null);
  const [ui, setUi] = useState<ViewportUiState>(INITIAL_UI);
  const [viewport, setViewport] = useState<ViewportController | null>(null);
  const [layout, setLayout] = useState<Layout>('1x1');
  const [sync, setSync] = useState(true);
  const viewportRef = useRef<ViewportController | null>(null);

  const seriesUids = useMemo(() => series.map((s) => s.seriesInstanceUid), [series]);
  const scan = useScanResults(client, seriesUids);
  useEffect(() => { viewport?.setScanResults(scan.results); }, [viewport, scan.results]);

  const loader = useMemo(() => new FrameLoader(client, new FrameCache(FRAME_CACHE_BYTES), PREFETCH_CONCURRENCY), [client]);

  useEffect(() => {
    client.invoke('app.info', {}).then(setInfo, () => { /* shown as unknown */ });
  }, [client]);

  const loadStudies = useCallback(async () => {
    try {
      const list = await client.invoke('studies.list', {});
      setStudies(list);
      setStudiesError(undefined);
      setSelectedStudy((cur) => (cur ? list.find((s) => s.studyInstanceUid === cur.studyInstanceUid) ?? cur : cur));
    } catch (e) {
      setStudiesError(`Could not load studies: ${errorMessage(e)}`);
    } finally {
      setStudiesLoading(false);
    }
  }, [client]);

  const loadPacsMarks = useCallback(() => {
    client.invoke('pacs.localStates', {}).then((list) => setPacsMarks(new Map(list.map((m) => [m.studyInstanceUid, m]))), () => { /* no marker */ });
  }, [client]);

  useEffect(() => { void loadStudies(); loadPacsMarks(); }, [loadStudies, loadPacsMarks]);
  useEffect(() => client.on('studies.changed', () => void loadStudies()), [client, loadStudies]);
  useEffect(() => client.on('pacs.progress', (j) => { if (j.state !== 'running') loadPacsMarks(); }), [client, loadPacsMarks]);

  useEffect(() => (view === 'viewer' ? installHotkeys(() => viewportRef.current) : undefined), [view]);

  const onViewportReady = useCallback((c: ViewportController | null) => {
    viewportRef.current = c;
    setViewport(c);
  }, []);

  const openSeries = useCallback((s: SeriesSummary, clickTime: number, study: StudySummary | null) => {
    setActiveSeriesUid(s.seriesInstanceUid);
    void viewportRef.current?.openSeries(s, study ?? undefined, clickTime);
  }, []);

  const selectStudy = useCallback(async (study: StudySummary) => {
    const clickTime = performance.now();
    setSelectedStudy(study);
    setSeries([]);
    try {
      const list = await client.invoke('studies.series', { studyInstanceUid: study.studyInstanceUid });
      setSeries(list);
      // Open the first series straight away, as a reading workstation does.
      if (list.length > 0) openSeries(list[0], clickTime, study);
    } catch (e) {
      setStudiesError(`Could not load series: ${errorMessage(e)}`);
    }
  }, [client, openSeries]);

  /** "Open" on a retrieved PACS study: back to the local list, with that study opened. */
  const openRetrieved = useCallback(async (studyInstanceUid: string) => {
    setLeftTab('local');
    setQuery('');
    try {
      const list = await client.invoke('studies.list', {});
      setStudies(list);
      const study = list.find((s) => s.studyInstanceUid === studyInstanceUid);
      if (study) await selectStudy(study);
    } catch (e) {
      setStudiesError(`Could not load studies: ${errorMessage(e)}`);
    }
  }, [client, selectStudy]);

  const onImported = useCallback((r: ImportResult) => {
    void loadStudies();
    if (r.studies.length > 0) setQuery('');
  }, [loadStudies]);

  return (
    <div className="app">
      <header className="app-header">
        <span className="brand">MedFedPure Workstation</span>
        <nav className="tabs" aria-label="Views">
          <button type="button" data-testid="nav-viewer" className={view === 'viewer' ? 'tab active' : 'tab'} onClick={() => setView('viewer')}>Viewer</button>
          <button type="button" data-testid="nav-audit" className={view === 'audit' ? 'tab active' : 'tab'} onClick={() => setView('audit')}>Audit</button>
          <button type="button" data-testid="nav-fl" className={view === 'fl' ? 'tab active' : 'tab'} onClick={() => setView('fl')}>Federation</button>
        </nav>
        {view === 'viewer' && <Toolbar viewport={viewport} ui={ui} layout={layout} onLayout={setLayout} sync={sync} onSync={setSync} />}
        <span className="spacer" />
        <span className="who" title={info ? `data: ${info.dataDir}` : ''}>
          {info ? `${info.user.id} (${info.user.role}) · ${info.workstation} · ${info.host} · v${info.version}` : ''}
        </span>
      </header>
      <main className={view === 'viewer' ? 'viewer-layout' : 'viewer-layout hidden'} aria-hidden={view !== 'viewer'}>
        <aside className="left-panel">
          <div className="segmented left-tabs" role="tablist" aria-label="Study source">
            <button type="button" role="tab" aria-selected={leftTab === 'local'} data-testid="tab-local" className={leftTab === 'local' ? 'active' : ''} onClick={() => setLeftTab('local')}>Local</button>
            <button type="button" role="tab" aria-selected={leftTab === 'pacs'} data-testid="tab-pacs" className={leftTab === 'pacs' ? 'active' : ''} onClick={() => setLeftTab('pacs')}>PACS</button>
          </div>
          {/* Both panes stay mounted, so a PACS search and its results survive a look at the local list. */}
          <div className={leftTab === 'local' ? 'left-pane' : 'left-pane hidden'}>
            <ImportControl client={client} onImported={onImported} />
            <StudyList
              studies={studies}
              query={query}
              onQuery={setQuery}
              selectedUid={selectedStudy?.studyInstanceUid ?? null}
              onSelect={(s) => void selectStudy(s)}
              loading={studiesLoading}
              error={studiesError}
              pacsMarks={pacsMarks}
            />
          </div>
          <div className={leftTab === 'pacs' ? 'left-pane' : 'left-pane hidden'}>
            <PacsPanel client={client} onOpenStudy={(uid) => void openRetrieved(uid)} openSeriesUid={ui.hasSeries ? activeSeriesUid : null} />
          </div>
          <Measurements client={client} viewport={viewport} />
        </aside>
        <div className="center">
          {selectedStudy && (
            <SeriesStrip series={series} loader={loader} activeUid={activeSeriesUid} results={scan.results} onOpen={(s, t) => openSeries(s, t, selectedStudy)} />
          )}
          <div className="viewport-wrap">
            <ViewerGrid client={client} loader={loader} layout={layout} onActive={onViewportReady} onUiState={setUi} series={series} study={selectedStudy} sync={sync} />
            {!ui.hasSeries && <div className="viewport-empty">{ui.error ?? 'Select a study to view its images.'}</div>}
            {ui.hasSeries && <ViewportLegend viewport={viewport} ui={ui} results={scan.results} />}
            {ui.hasSeries && <SliceMarks viewport={viewport} results={scan.results} />}
          </div>
          <footer className="hotkey-help" title={hotkeyHelp()}>{hotkeyHelp()}</footer>
        </div>
        <AiPanel client={client} viewport={viewport} ui={ui} scan={scan} />
      </main>
      {view === 'audit' && <AuditPage client={client} />}
      {view === 'fl' && <FlPage client={client} />}
    </div>
  );
}
