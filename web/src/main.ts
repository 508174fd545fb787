/**
 * The web page served at `/`: choose an example workflow, edit its input,
 * trigger it over HTTP and watch it live over graphql-ws, through dropped
 * connections. Plain DOM; the page's HTML is web/index.html. `#run=<id>` in
 * the address follows (or replays) that run, so a reload resumes watching.
 * When the gateway has authentication on, the API key typed in the page
 * (kept in sessionStorage) lists, triggers and mints run tokens; the run is
 * followed with its run token alone, as an app's browser would be.
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
import { CREATE_RUN_TOKEN, TRIGGER, WORKFLOWS } from './operations.js';
import type {} from './page-hook.js';
import { RunView } from './run-view.js';

const graphqlPath = document.querySelector<HTMLMetaElement>('meta[name="graphql-path"]')?.content || '/graphql';
const httpUrl = new URL(graphqlPath, window.location.href);
const wsUrl = new URL(httpUrl);
wsUrl.protocol = httpUrl.protocol === 'https:' ? 'wss:' : 'ws:';

const form = byId('trigger-form', HTMLFormElement);
const apiKeyInput = byId('api-key', HTMLInputElement);
const apiKeyError = byId('api-key-error', HTMLElement);
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

/** sessionStorage: the key lives as long as the tab, and never in the address, a cookie or localStorage. */
const API_KEY_ITEM = 'gateway-api-key';

function apiKey(): string | undefined {
  return apiKeyInput.value.trim() || undefined;
}

function storeApiKey(): void {
  try {
    const key = apiKey();
    if (key) sessionStorage.setItem(API_KEY_ITEM, key);
    else sessionStorage.removeItem(API_KEY_ITEM);
  } catch {
    // storage may be off; the key then lasts as long as the page
  }
}

function storedApiKey(): string {
  try {
    return sessionStorage.getItem(API_KEY_ITEM) ?? '';
  } catch {
    return '';
  }
}

/** Says what is wrong with the credential when the gateway answers UNAUTHENTICATED. */
function showKeyProblem(): void {
  apiKeyError.textContent = apiKey()
    ? 'The gateway did not accept this API key.'
    : 'This gateway needs an API key: enter one above.';
  apiKeyError.hidden = false;
}

/**
 * `token`: the run token from the trigger, or none (after a reload); the
 * follower mints one with the API key when the gateway asks for it.
 */
function follow(runId: string, workflow: string | undefined, token?: string): void {
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
    token,
    renewToken: async () => (await request(httpUrl.href, CREATE_RUN_TOKEN, { runId }, apiKey())).createRunToken,
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
    case 'token-renewed':
      connectionBadge.textContent = 'token renewed';
      log(`${state.reason}; token renewed (valid until ${new Date(state.expiresAt).toLocaleTimeString()})`, 'renewed');
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
      if (state.error.code === 'UNAUTHENTICATED') showKeyProblem();
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
    apiKeyError.hidden = true;
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
      const { triggerWorkflow } = await request(httpUrl.href, TRIGGER, { workflow, input }, apiKey());
      follow(triggerWorkflow.runId, triggerWorkflow.workflow, triggerWorkflow.runToken.token);
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'UNAUTHENTICATED') return showKeyProblem();
      showFormError(error instanceof GatewayError ? error.message : `Could not reach the gateway: ${String(error)}`);
    } finally {
      runButton.disabled = false;
    }
  })();
});
workflowSelect.addEventListener('change', () => selectWorkflow(workflowSelect.value));
apiKeyInput.addEventListener('input', storeApiKey);
apiKeyInput.addEventListener('change', listWorkflows);
apiKeyInput.addEventListener('keydown', (event) => {
  // Enter takes the key (and lists the workflows it may see) rather than running the selected workflow
  if (event.key !== 'Enter') return;
  event.preventDefault();
  apiKeyInput.blur();
});
dropButton.addEventListener('click', () => following?.follower.dropConnection());

function listWorkflows(): void {
  request(httpUrl.href, WORKFLOWS, {}, apiKey()).then(
    ({ workflows }) => {
      apiKeyError.hidden = true;
      fillWorkflows(workflows.map((w) => w.name));
    },
    (error: unknown) => {
      if (error instanceof GatewayError && error.code === 'UNAUTHENTICATED') return showKeyProblem();
      showFormError(`Could not list the workflows: ${error instanceof Error ? error.message : String(error)}`);
    },
  );
}

apiKeyInput.value = storedApiKey();
fillWorkflows(undefined);
selectWorkflow(workflowSelect.value);
listWorkflows();
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
