// What the page shows, how it is fetched again, and the polling while a purge runs.
import {
  Api,
  ApiError,
  type DeliveryError,
  type EmailStatus,
  type HeldMessage,
  type MailSources,
  type Volume,
} from './api';
import { refusalText, t } from './i18n';

const kPollMs = 1000;

export interface Notice {
  kind: 'ok' | 'error';
  text: string;
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
  signInMessage: null as string | null,
  pollTimer: 0,
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

/** A failed API call, as the page tells it. */
export function describe(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0) return t('networkError');
    return t('refused', { message: refusalText(e.reason, e.message) });
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

/** Fetches everything the page shows of the chosen account, then draws it. */
export async function refresh(): Promise<void> {
  const api = view.api;
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
  view.status = status;
  view.errors = errors.items;
  view.volumes = volumes.items;
  view.sources = sources;
  view.held = held?.items ?? [];
  view.heldMore = held?.next != null;
  const shown = new Set(view.held.map((m) => m.id));
  for (const id of [...view.chosen]) if (!shown.has(id)) view.chosen.delete(id);
  redraw();
}

/** While a purge runs, the status is asked for again until the purge has ended. */
export function schedulePoll(): void {
  if (view.pollTimer || view.status?.state !== 'purging') return;
  view.pollTimer = window.setTimeout(async () => {
    view.pollTimer = 0;
    const api = view.api;
    if (!api || !view.status) return;
    try {
      const status = await api.status(view.account);
      if (status.state === 'purging') {
        view.status = status;
        redraw();
      } else {
        view.notice = { kind: 'ok', text: t('purgeDone') };
        await refresh();
      }
    } catch (e) {
      if (signedOut(e)) return;
      schedulePoll();
    }
  }, kPollMs);
}
