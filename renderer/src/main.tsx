/** Renderer entry: connect to the API and mount the app behind the sign-in gate (or show why it cannot start). */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connect } from './api.js';
import { App } from './App.js';
import { SessionGate } from './users/SessionGate.js';
import { errorMessage } from './util.js';
import './styles.css';

const rootEl = document.getElementById('root');
if (!rootEl) throw new Error('#root element missing from index.html');
const root = createRoot(rootEl);
try {
  const client = connect();
  root.render(
    <StrictMode>
      <SessionGate client={client}>{(session) => <App key={session.session.username} client={client} session={session} />}</SessionGate>
    </StrictMode>,
  );
} catch (e) {
  root.render(<div className="fatal" role="alert">{errorMessage(e)}</div>);
}
