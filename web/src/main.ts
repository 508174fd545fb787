/**
 * The web page served at `/`: choose an example workflow, edit its input,
 * trigger it over HTTP and watch it live over graphql-ws, through dropped
 * connections. Plain DOM; the page's HTML is web/index.html. `#run=<id>` in
 * the address follows (or replays) that run, so a reload resumes watching.
 * `window.__gateway` (page-hook.ts) shows the connection's history and drops
 * the socket on demand.
 */

import { examples } from './examples.js';
import {
  type ConnectionState,
  followRun,
  GatewayError,
  type RunEvent,
  type RunFollower,
  request,
} from './gateway-client.js';
import { TRIGGER, WORKFLOWS } from './operations.js';
import type {} from './page-hook.js';
import { RunView } from './run-view.js';

const graphqlPath = document.querySelector<HTMLMetaElement>('meta[name="graphql-path"]')?.content || '/graphql';
const httpUrl = new URL(graphqlPath, window.location.href);
const wsUrl = new URL(httpUrl);
wsUrl.protocol = httpUrl.protocol === 'https:' ? 'wss:' : 'ws:';

const form = byId('trigger-form', HTMLFormElement);
const workflowSelect = byId('workflow', HTMLSelectElement);
const description = byId('workflow-description', HTMLElement);
const inputArea = byId('input', HTMLTextAreaElement);
const formError = byId('form-error', HTMLElement);
const runButton = byId('run-button', HTMLButtonElement);
const runPanel = byId('run', HTMLElement);
const runWorkflow = byId('run-workflow', HTMLElement);
const runIdLabel = byId('run-id', HTMLElement);
const connectionBadge = byId('connection', HTMLElement);
const connectionLog = byId('connection-log', HTMLOListElement);
const dropButton = byId('drop-button', HTMLButtonElement);
byId('graphiql-link', HTMLAnchorElement).href = httpUrl.pathname;

const viewElements = {
  status: byId('run-status', HTMLElement),
  progress: byId('progress', HTMLProgressElement),
  progressLabel: byId('progress-label', HTMLElement),
  steps: byId('steps', HTMLOListElement),
  result: byId('run-result', HTMLElement),
  output: byId('run-output', HTMLPreElement),
  error: byId('run-error', HTMLElement),
};

interface Following {
  readonly runId: string;
  readonly view: RunView;
  readonly follower: RunFollower;
  readonly states: string[];
}
let following: Following | undefined;

window.__gateway = {
  runId: () => following?.runId,
  cursor: () => following?.follower.cursor(),
  connectionStates: () => following?.states ?? [],
  dropConnection: () => following?.follower.dropConnection() ?? false,
};

function follow(runId: string, workflow: string | undefined): void {
  following?.follower.stop();
  following?.view.dispose();
  runPanel.hidden = false;
  runWorkflow.textContent = workflow ?? 'run';
  runIdLabel.textContent = runId;
  connectionLog.replaceChildren();
  const view = new RunView(viewElements);
  const states: string[] = [];
  let events = 0;
  const follower = followRun({
    wsUrl: wsUrl.href,
    runId,
    onEvent: (event: RunEvent) => {
      events++;
      view.apply(event);
    },
    onConnection: (state) => {
      states.push(state.kind);
      showConnection(state, events);
    },
    onRestart: () => {
      events = 0;
      view.restart();
    },
  });
  following = { runId, view, follower, states };
  window.history.replaceState(null, '', `#run=${encodeURIComponent(runId)}`);
}

/** Shows where the link stands; `events` is how many events were drawn so far. */
function showConnection(state: ConnectionState, events: number): void {
  connectionBadge.dataset['state'] = state.kind;
  dropButton.disabled = state.kind !== 'live';
  switch (state.kind) {
    case 'connecting':
      connectionBadge.textContent = 'connecting…';
      return;
    case 'live':
      if (state.resumedFrom) {
        const text = `resumed from cursor ${shortCursor(state.resumedFrom)} after ${events} events`;
        connectionBadge.textContent = `live · ${text}`;
        log(text, 'resumed', state.resumedFrom);
      } else {
        connectionBadge.textContent = 'live';
        log('connected over graphql-ws', 'connected');
      }
      return;
    case 'reconnecting':
      connectionBadge.textContent = `reconnecting… (try ${state.attempt})`;
      log(`${state.reason}; reconnecting in ${state.delayMs} ms…`, 'reconnecting');
      return;
    case 'done':
      connectionBadge.textContent = 'run finished';
      log('run finished; subscription complete', 'done');
      return;
    case 'failed':
      connectionBadge.textContent = 'failed';
      log(state.error.message, 'failed');
      return;
    case 'stopped':
      connectionBadge.textContent = 'stopped';
      return;
    default:
      assertNever(state);
  }
}

function log(text: string, kind: string, title?: string): void {
  const item = document.createElement('li');
  item.dataset['kind'] = kind;
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  item.append(time, ` ${text}`);
  if (title) item.title = title;
  connectionLog.append(item);
}

function shortCursor(cursor: string): string {
  return cursor.length > 16 ? `…${cursor.slice(-12)}` : cursor;
}

function selectWorkflow(name: string): void {
  const example = examples.find((e) => e.name === name);
  description.textContent = example?.description ?? 'A workflow registered on the engine.';
  inputArea.value = JSON.stringify(example?.input ?? {}, null, 2);
  formError.hidden = true;
}

function fillWorkflows(registered: readonly string[] | undefined): void {
  const selected = workflowSelect.value || examples[0]?.name || '';
  const options = examples.map((e) => {
    const option = new Option(e.name, e.name);
    if (registered && !registered.includes(e.name)) {
      option.disabled = true;
      option.textContent = `${e.name} (not registered)`;
    }
    return option;
  });
  for (const name of registered ?? []) {
    if (!examples.some((e) => e.name === name)) options.push(new Option(name, name));
  }
  workflowSelect.replaceChildren(...options);
  workflowSelect.value = selected;
}

function showFormError(message: string): void {
  formError.textContent = message;
  formError.hidden = false;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void (async () => {
    formError.hidden = true;
    let input: unknown;
    try {
      input = JSON.parse(inputArea.value || '{}');
    } catch (error) {
      return showFormError(`The input is not JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return showFormError('The input must be a JSON object.');
    }
    runButton.disabled = true;
    try {
      const workflow = workflowSelect.value;
      const { triggerWorkflow } = await request(httpUrl.href, TRIGGER, { workflow, input });
      follow(triggerWorkflow.runId, triggerWorkflow.workflow);
    } catch (error) {
      showFormError(error instanceof GatewayError ? error.message : `Could not reach the gateway: ${String(error)}`);
    } finally {
      runButton.disabled = false;
    }
  })();
});
workflowSelect.addEventListener('change', () => selectWorkflow(workflowSelect.value));
dropButton.addEventListener('click', () => following?.follower.dropConnection());

fillWorkflows(undefined);
selectWorkflow(workflowSelect.value);
request(httpUrl.href, WORKFLOWS, {}).then(
  ({ workflows }) => fillWorkflows(workflows.map((w) => w.name)),
  (error: unknown) =>
    showFormError(`Could not list the workflows: ${error instanceof Error ? error.message : String(error)}`),
);
const linked = /^#run=(.+)$/.exec(window.location.hash)?.[1];
if (linked) follow(decodeURIComponent(linked), undefined);

function byId<T extends HTMLElement>(id: string, type: abstract new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`the page lacks #${id}`);
  return el;
}

function assertNever(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
}
