/**
 * What a person sees of one run, drawn from its events alone: a timeline of
 * steps with statuses and durations (from the events' `at`, never the
 * browser's clock, so a replayed run looks as it did live), a progress bar,
 * each step's streamed text as it grows, files as soon as they are complete
 * and verified, and the run's output or error. It only appends to the page
 * as events come; it never re-renders what is there.
 */
import { FileAssembler, FileAssemblyError } from '../../src/files/file-assembler.js';
import type { RunEvent } from './gateway-client.js';
import type { RunStatus, StepStatus } from './generated/graphql.js';

type EventOf<T extends RunEvent['__typename']> = Extract<RunEvent, { __typename: T }>;

const terminalStepStatuses: ReadonlySet<StepStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

interface Step {
  readonly name: string;
  status: StepStatus;
  /** The latest attempt, from 1; the times below are that attempt's. */
  attempt: number;
  queuedAt?: number;
  startedAt?: number;
  endedAt?: number;
  readonly row: HTMLLIElement;
  readonly statusBadge: HTMLElement;
  readonly attemptLabel: HTMLElement;
  readonly time: HTMLElement;
  readonly waitBar: HTMLElement;
  readonly runBar: HTMLElement;
  readonly texts: HTMLElement;
  readonly files: HTMLElement;
  readonly error: HTMLElement;
  readonly output: HTMLPreElement;
  /** One text block per attempt, so a retry's text does not run into the failed attempt's. */
  readonly attemptTexts: Map<number, HTMLPreElement>;
}

interface FileProgress {
  readonly name: string;
  readonly count: number;
  readonly received: Set<number>;
  readonly caption: HTMLElement;
  readonly figure: HTMLElement;
  done: boolean;
}

/** The elements of the page a RunView draws into. */
export interface RunViewElements {
  readonly status: HTMLElement;
  readonly progress: HTMLProgressElement;
  readonly progressLabel: HTMLElement;
  readonly steps: HTMLOListElement;
  readonly result: HTMLElement;
  readonly output: HTMLPreElement;
  readonly error: HTMLElement;
}

/** Draws one run; `dispose()` before drawing another into the same elements. */
export class RunView {
  readonly #el: RunViewElements;
  readonly #steps = new Map<string, Step>();
  readonly #files = new Map<string, FileProgress>();
  #assembler = new FileAssembler();
  readonly #objectUrls: string[] = [];
  #firstAt: number | undefined;
  #lastAt: number | undefined;
  #runStatus: RunStatus = 'QUEUED';
  #disposed = false;

  constructor(elements: RunViewElements) {
    this.#el = elements;
    this.#clear();
  }

  /** The run's status as the page shows it. */
  get status(): RunStatus {
    return this.#runStatus;
  }

  /** Draws one event; events must come in the run log's order. */
  apply(event: RunEvent): void {
    const at = Date.parse(event.at);
    this.#firstAt ??= at;
    this.#lastAt = Math.max(this.#lastAt ?? at, at);
    switch (event.__typename) {
      case 'StepStatusEvent':
        this.#onStatus(event, at);
        break;
      case 'StreamChunkEvent':
        this.#textOf(this.#step(event.stepName), event.attempt ?? 1).append(event.data);
        break;
      case 'StreamGapEvent':
        this.#onGap(event);
        break;
      case 'FileChunkEvent':
        this.#onFileChunk(event);
        break;
      case 'StepOutputEvent': {
        const step = this.#step(event.stepName);
        step.output.textContent = `returned ${JSON.stringify(event.output)}`;
        step.output.hidden = false;
        break;
      }
      case 'RunStatusEvent':
        this.#onRunStatus(event);
        break;
      default:
        assertNever(event);
    }
    this.#drawTimeline();
    this.#drawProgress();
  }

  /** Forgets what was drawn: the replay starts again from the run's first kept event. */
  restart(): void {
    this.#clear();
  }

  dispose(): void {
    this.#disposed = true;
    for (const url of this.#objectUrls.splice(0)) URL.revokeObjectURL(url);
  }

  #clear(): void {
    for (const url of this.#objectUrls.splice(0)) URL.revokeObjectURL(url);
    this.#steps.clear();
    this.#files.clear();
    this.#assembler = new FileAssembler();
    this.#firstAt = undefined;
    this.#lastAt = undefined;
    this.#setRunStatus('QUEUED');
    this.#el.steps.replaceChildren();
    this.#el.result.hidden = true;
    this.#el.output.textContent = '';
    this.#el.error.textContent = '';
    this.#drawProgress();
  }

  #onStatus(event: EventOf<'StepStatusEvent'>, at: number): void {
    const step = this.#step(event.stepName);
    const attempt = event.attempt ?? 1;
    if (attempt < step.attempt) return; // a late word about a failed attempt changes nothing shown
    if (attempt > step.attempt) {
      // the failed attempt keeps its error, under its own text
      const failed = step.error.textContent;
      if (failed) this.#textOf(step, step.attempt).append(element('span', 'attempt-error', failed));
      step.attempt = attempt;
      delete step.queuedAt;
      delete step.startedAt;
      delete step.endedAt;
      step.error.textContent = '';
      step.row.classList.add('retried');
      step.attemptLabel.textContent = `attempt ${attempt}`;
    }
    step.status = event.status;
    if (event.status === 'QUEUED') step.queuedAt = at;
    else if (event.status === 'STARTED') step.startedAt = at;
    else step.endedAt = at;
    if (event.error) step.error.textContent = event.error;
    step.row.dataset['status'] = event.status;
    step.statusBadge.textContent = event.status;
    step.statusBadge.dataset['status'] = event.status;
    if (this.#runStatus === 'QUEUED' && event.status !== 'QUEUED') this.#setRunStatus('RUNNING');
  }

  #onGap(event: EventOf<'StreamGapEvent'>): void {
    const gap = document.createElement('span');
    gap.className = 'gap';
    const lost = event.missedChunks === null ? 'chunks' : `${event.missedChunks} chunk(s)`;
    gap.textContent = `[${lost} lost: ${event.reason}]`;
    this.#textOf(this.#step(event.stepName), event.attempt ?? 1).append(gap);
  }

  #onFileChunk(event: EventOf<'FileChunkEvent'>): void {
    const step = this.#step(event.stepName);
    let file = this.#files.get(event.fileId);
    if (!file) {
      const figure = element('figure', 'file');
      figure.dataset['fileId'] = event.fileId;
      const caption = element('figcaption');
      figure.append(caption);
      step.files.append(figure);
      file = { name: event.name, count: event.count, received: new Set(), caption, figure, done: false };
      this.#files.set(event.fileId, file);
    }
    file.received.add(event.index);
    if (!file.done) file.caption.textContent = `${file.name}: ${file.received.size} / ${file.count} chunks`;
    const progress = file;
    // the assembler takes the chunk before its first await, so chunks stay in order
    this.#assembler.add(event).then(
      (assembled) => {
        if (!assembled || this.#disposed || this.#files.get(event.fileId) !== progress) return;
        progress.done = true;
        const url = URL.createObjectURL(new Blob([assembled.bytes.slice()], { type: assembled.mimeType }));
        this.#objectUrls.push(url);
        const size = formatBytes(assembled.size);
        if (assembled.mimeType.startsWith('image/')) {
          const img = element('img');
          img.src = url;
          img.alt = assembled.name;
          progress.figure.prepend(img);
          progress.caption.textContent = `${assembled.name} · ${size} · SHA-256 verified`;
        } else {
          const link = element('a');
          link.href = url;
          link.download = assembled.name;
          link.textContent = `${assembled.name} (${size}, SHA-256 verified)`;
          progress.caption.replaceChildren(link);
        }
        progress.figure.classList.add('complete');
        this.#drawProgress();
      },
      (error: unknown) => {
        if (this.#disposed) return;
        progress.done = true;
        progress.figure.classList.add('broken');
        progress.caption.textContent = error instanceof FileAssemblyError ? error.message : String(error);
      },
    );
  }

  #onRunStatus(event: EventOf<'RunStatusEvent'>): void {
    this.#setRunStatus(event.runStatus);
    this.#el.result.hidden = false;
    this.#el.result.dataset['status'] = event.runStatus;
    this.#el.output.textContent = event.output === null ? '' : JSON.stringify(event.output, null, 2);
    this.#el.output.hidden = event.output === null;
    this.#el.error.textContent = event.error ?? '';
    this.#el.error.hidden = !event.error;
    for (const { fileId, name, missing } of this.#assembler.incomplete()) {
      const file = this.#files.get(fileId);
      if (file) file.caption.textContent = `${name}: incomplete, chunks ${missing.join(', ')} never arrived`;
    }
  }

  #setRunStatus(status: RunStatus): void {
    this.#runStatus = status;
    this.#el.status.textContent = status;
    this.#el.status.dataset['status'] = status;
  }

  #step(name: string): Step {
    const known = this.#steps.get(name);
    if (known) return known;
    const row = element('li', 'step');
    row.dataset['step'] = name;
    row.dataset['status'] = 'QUEUED';
    const head = element('div', 'step-head');
    const title = element('span', 'step-name', name);
    const statusBadge = element('span', 'badge step-status', '…');
    const attemptLabel = element('span', 'step-attempt');
    const time = element('span', 'step-time');
    head.append(title, statusBadge, attemptLabel, time);
    const bar = element('div', 'step-bar');
    const waitBar = element('span', 'bar-wait');
    const runBar = element('span', 'bar-run');
    bar.append(waitBar, runBar);
    const texts = element('div', 'step-texts');
    const files = element('div', 'step-files');
    const error = element('p', 'step-error');
    const output = element('pre', 'step-output');
    output.hidden = true;
    row.append(head, bar, texts, files, error, output);
    this.#el.steps.append(row);
    const step: Step = {
      name,
      status: 'QUEUED',
      attempt: 1,
      row,
      statusBadge,
      attemptLabel,
      time,
      waitBar,
      runBar,
      texts,
      files,
      error,
      output,
      attemptTexts: new Map(),
    };
    this.#steps.set(name, step);
    return step;
  }

  #textOf(step: Step, attempt: number): HTMLPreElement {
    const known = step.attemptTexts.get(attempt);
    if (known) return known;
    const pre = element('pre', 'step-text');
    pre.dataset['attempt'] = String(attempt);
    const later = [...step.attemptTexts.entries()].filter(([a]) => a > attempt).sort(([a], [b]) => a - b)[0];
    if (later) later[1].before(pre);
    else step.texts.append(pre);
    step.attemptTexts.set(attempt, pre);
    return pre;
  }

  #drawTimeline(): void {
    const first = this.#firstAt ?? 0;
    const last = this.#lastAt ?? first;
    const span = Math.max(1, last - first);
    const pct = (ms: number) => `${((Math.max(0, ms) / span) * 100).toFixed(2)}%`;
    for (const step of this.#steps.values()) {
      const queued = step.queuedAt ?? step.startedAt ?? step.endedAt ?? last;
      const started = step.startedAt ?? step.endedAt ?? last;
      const ended = step.endedAt ?? last;
      step.waitBar.style.left = pct(queued - first);
      step.waitBar.style.width = pct(started - queued);
      step.runBar.style.left = pct(started - first);
      step.runBar.style.width = step.startedAt === undefined ? '0%' : pct(ended - started);
      step.time.textContent = describeTimes(step, last);
    }
  }

  #drawProgress(): void {
    const steps = [...this.#steps.values()];
    const done = steps.filter((s) => terminalStepStatuses.has(s.status)).length;
    const stepsText = `${done} / ${steps.length} step${steps.length === 1 ? '' : 's'}`;
    const files = [...this.#files.values()];
    const receiving = files.filter((f) => !f.done);
    let value: number;
    let label: string;
    if (this.#runStatus === 'COMPLETED') {
      value = 1;
      label = `${stepsText} · done`;
    } else if (receiving.length > 0 && !isTerminalRun(this.#runStatus)) {
      const received = files.reduce((n, f) => n + f.received.size, 0);
      const count = files.reduce((n, f) => n + f.count, 0);
      value = received / count;
      label = `${receiving.map((f) => f.name).join(', ')}: ${received} / ${count} chunks`;
    } else {
      value = steps.length === 0 ? 0 : done / steps.length;
      label = steps.length === 0 ? 'waiting for the first step' : stepsText;
    }
    this.#el.progress.value = value;
    this.#el.progressLabel.textContent = label;
  }
}

function isTerminalRun(status: RunStatus): boolean {
  return status !== 'QUEUED' && status !== 'RUNNING';
}

function describeTimes(step: Step, last: number): string {
  const parts: string[] = [];
  const waitedUntil = step.startedAt ?? step.endedAt ?? last;
  // a step the engine started at once has no wait worth saying
  if (step.queuedAt !== undefined && waitedUntil > step.queuedAt) {
    parts.push(
      `${step.startedAt === undefined && step.endedAt === undefined ? 'waiting' : 'waited'} ${formatMs(waitedUntil - step.queuedAt)}`,
    );
  }
  if (step.startedAt !== undefined) {
    parts.push(
      step.endedAt === undefined
        ? `running ${formatMs(last - step.startedAt)}`
        : `ran ${formatMs(step.endedAt - step.startedAt)}`,
    );
  }
  return parts.join(' · ');
}

function formatMs(ms: number): string {
  const value = Math.max(0, ms);
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function assertNever(value: never): never {
  throw new Error(`unexpected event ${JSON.stringify(value)}`);
}
