// Signing in and out. The token is kept in sessionStorage only (gone with the tab), never in
// the URL; the daemon checks it on every call, and a 401 signs out.
import { Api } from './api';
import { dropChart } from './cards/volumes';
import { closeDialog } from './dialog';
import { h, showPage } from './dom';
import { header } from './header';
import { lang, t } from './i18n';
import { describe, redraw, refresh, signedOut, stopPolling, view } from './state';

const kTokenKey = 'mailwarden.token';
const kAccountKey = 'mailwarden.account';

/** Remembers the administrator's chosen account for a reload. */
export function rememberAccount(name: string): void {
  sessionStorage.setItem(kAccountKey, name);
}

export function signOut(message: string | null = null): void {
  sessionStorage.removeItem(kTokenKey);
  sessionStorage.removeItem(kAccountKey);
  stopPolling();
  view.api = null;
  view.status = null;
  view.notice = null;
  view.chosen.clear();
  view.signInMessage = message;
  closeDialog();
  renderSignIn();
}

function apiFor(token: string): Api {
  return new Api(token, () => signOut(t('sessionEnded')));
}

/** With a token from this tab's session: who it is, which accounts, then the page. */
export async function start(): Promise<void> {
  document.documentElement.lang = lang;
  const token = sessionStorage.getItem(kTokenKey);
  if (!token) {
    renderSignIn();
    return;
  }
  view.api = apiFor(token);
  renderLoading();
  try {
    const who = await view.api.whoami();
    view.admin = who.admin;
    if (who.admin) {
      const list = await view.api.accounts();
      view.accounts = list.items.map((a) => a.name);
      const saved = sessionStorage.getItem(kAccountKey);
      view.account = saved && view.accounts.includes(saved) ? saved : (view.accounts[0] ?? '');
    } else {
      view.accounts = who.account ? [who.account] : [];
      view.account = who.account ?? '';
    }
    await refresh();
  } catch (e) {
    if (signedOut(e)) return;
    view.notice = { kind: 'error', text: describe(e) };
    redraw();
  }
}

function renderLoading(): void {
  showPage(header(() => signOut()), h('main', {}, h('p', { className: 'loading' }, t('loading'))));
}

export function renderSignIn(): void {
  dropChart();
  document.documentElement.lang = lang;
  const error = h('p', { id: 'sign-in-error', className: 'form-error', role: 'alert' }, view.signInMessage ?? '');
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'sign-in-help sign-in-error',
  });
  // method=post: were the script not to run, the token would still not land in the URL.
  const form = h(
    'form',
    { id: 'sign-in', method: 'post', className: 'card sign-in', novalidate: true },
    h('h2', {}, t('signInTitle')),
    h('p', { id: 'sign-in-help' }, t('signInHelp')),
    h('div', { className: 'field' }, h('label', { for: 'token' }, t('token')), input),
    error,
    h('button', { type: 'submit', className: 'primary' }, t('signIn')),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      error.textContent = t('tokenRequired');
      input.focus();
      return;
    }
    const api = new Api(token, () => {});
    try {
      await api.whoami();
    } catch (e) {
      error.textContent = signedOut(e) ? t('sessionEnded') : describe(e);
      input.focus();
      return;
    }
    sessionStorage.setItem(kTokenKey, token);
    view.signInMessage = null;
    await start();
  });
  showPage(header(), h('main', {}, form));
  input.focus();
}
