// What the page shows, and how it is read again: after every action and refusal, on a calm
// interval, when the tab comes back into view, and every two seconds while a purge runs.
import {
  Api,
  ApiError,
  type DeliveryError,
  type EmailStatus,
  type Fleet,
  type HeldMessage,
  type MailSources,
  type OverviewItem,
  type OverviewQuery,
  type Volume,
} from './api';
import { refusalText, t } from './i18n';

const kCalmMs = 30000;
const kPurgeMs = 2000;

export interface Notice {
  kind: 'ok' | 'error';
  text: string;
  /** A failed read offers to read again. */
  retry?: boolean;
}

// Everything the page shows; redraw() draws it all again from here.
export const view = {
  api: null as Api | null,
  admin: false,
  accounts: [] as string[],
  account: '',
  status: null as EmailStatus | null,
  errors: [] as DeliveryError[],
  volumes: [] as Volume[],
  sources: null as MailSources | null,
  held: [] as HeldMessage[],
  heldMore: false,
  chosen: new Set<number>(),
  notice: null as Notice | null,
  /** When the figures shown were read; null before the first read. */
  readAt: null as Date | null,
  /** The last read failed: the daemon could not be reached. */
  stale: false,
  signInMessage: null as string | null,
  pollTimer: 0,
  wasPurging: false,
  /** The administrator's page: one account's tab, or the overview of all accounts. */
  mode: 'account' as 'account' | 'overview',
  overview: {
    query: { sort: 'name', state: '', blockedBy: '', q: '', cursor: null } as OverviewQuery,
    /** The cursors of the pages before this one, to go back. */
    back: [] as (string | null)[],
    items: [] as OverviewItem[],
    next: null as string | null,
    /** The accounts ticked to block at once. */
    chosen: new Set<string>(),
    /** The fleet summary above the list; null before it was read. */
    fleet: null as Fleet | null,
  },
};

let drawer: () => void = () => {};

/** Sets what redraw() calls: main.ts gives it the sign-in form or the page. */
export function setDrawer(draw: () => void): void {
  drawer = draw;
}

/** Draws the page (or the sign-in form) again from `view`. */
export function redraw(): void {
  drawer();
}

/** A failed action, as the page tells it. */
export function describe(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.unreachable) return t('actionUnreachable');
    return t('refused', { message: refusalText(e.reason, e.message) });
  }
  return String(e);
}

/** A failed read, as the page tells it (not as a failed action). */
export function describeLoad(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.unreachable) return t('unreachable');
    return t('loadFailed', { message: refusalText(e.reason, e.message) });
  }
  return String(e);
}

/** Whether the error is a 401: the Api has signed out already, nothing more to show. */
export function signedOut(e: unknown): boolean {
  return e instanceof ApiError && e.status === 401;
}

export function stopPolling(): void {
  window.clearTimeout(view.pollTimer);
  view.pollTimer = 0;
}

/** Reads the overview's page as `view.overview.query` asks, then draws it. */
async function refreshOverview(api: Api): Promise<void> {
  const o = view.overview;
  const asked = JSON.stringify(o.query);
  const [page, fleet] = await Promise.all([api.overview(o.query), api.fleet()]);
  if (view.mode !== 'overview' || JSON.stringify(o.query) !== asked) return; // asked again meanwhile
  o.fleet = fleet;
  o.items = page.items;
  o.next = page.next;
  const shown = new Set(o.items.map((a) => a.name));
  for (const name of [...o.chosen]) if (!shown.has(name)) o.chosen.delete(name);
  view.readAt = new Date();
  view.stale = false;
  redraw();
}

/** Fetches everything the page shows (the chosen account's figures, or the overview), then
 * draws it. */
export async function refresh(): Promise<void> {
  const api = view.api;
  if (api && view.admin && view.mode === 'overview') {
    await refreshOverview(api);
    return;
  }
  if (!api || !view.account) {
    redraw();
    return;
  }
  const account = view.account;
  const [status, errors, volumes, sources] = await Promise.all([
    api.status(account),
    api.errors(account),
    api.volumes(account),
    api.sources(account),
  ]);
  const held = status.state !== 'active' && status.held > 0 ? await api.held(account) : null;
  if (account !== view.account) return; // the admin picked another account meanwhile
  if (view.wasPurging && status.state !== 'purging' && view.notice?.kind !== 'error') {
    view.notice = { kind: 'ok', text: t('purgeDone') };
  }
  view.wasPurging = status.state === 'purging';
  view.status = status;
  view.errors = errors.items;
  view.volumes = volumes.items;
  view.sources = sources;
  view.held = held?.items ?? [];
  view.heldMore = held?.next != null;
  view.readAt = new Date();
  view.stale = false;
  const shown = new Set(view.held.map((m) => m.id));
  for (const id of [...view.chosen]) if (!shown.has(id)) view.chosen.delete(id);
  redraw();
}

/** Reads the page again, and says so when it cannot (a failed read, not a failed action). */
export async function refreshQuietly(): Promise<void> {
  try {
    await refresh();
    if (view.notice?.retry) {
      view.notice = null;
      redraw();
    }
  } catch (e) {
    if (signedOut(e)) return;
    view.stale = true;
    view.notice = { kind: 'error', text: describeLoad(e), retry: true };
    redraw();
  }
}

/** After an action went through or was refused: the state may not be what the page shows. */
export async function afterAction(): Promise<void> {
  if (view.status?.state === 'purging') view.wasPurging = true;
  await refreshQuietly();
}

/** Reads the page again after a calm interval, or soon while a purge runs. */
export function schedulePoll(): void {
  stopPolling();
  if (!view.api) return;
  const ms = view.status?.state === 'purging' ? kPurgeMs : kCalmMs;
  view.pollTimer = window.setTimeout(async () => {
    view.pollTimer = 0;
    if (!document.hidden) await refreshQuietly();
    else schedulePoll();
  }, ms);
}

let watching = false;

/** Reads the page again when the tab or window comes back into view. */
export function watchFocus(): void {
  if (watching) return;
  watching = true;
  const again = () => {
    if (view.api && (view.status || view.mode === 'overview') && !document.hidden) void refreshQuietly();
  };
  window.addEventListener('focus', again);
  document.addEventListener('visibilitychange', again);
}
