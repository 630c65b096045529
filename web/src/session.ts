// Signing in and out. The token is kept in sessionStorage only (gone with the tab), never in
// the URL; the daemon checks it on every call, and a 401 signs out. A wrong token, an ended
// session and a daemon that cannot be reached are told apart, each with its own sentence.
import { Api } from './api';
import { dropChart } from './cards/volumes';
import { closeDialog } from './dialog';
import { h, showPage } from './dom';
import { header } from './header';
import { lang, t } from './i18n';
import { describeLoad, redraw, refresh, signedOut, stopPolling, view } from './state';

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
  view.readAt = null;
  view.chosen.clear();
  view.signInMessage = message;
  closeDialog();
  renderSignIn();
}

function apiFor(token: string): Api {
  return new Api(token, () => signOut(t('sessionEnded')));
}

/** With a token from this tab's session: who it is, which accounts, then the page. */
export async function start(focusAfter = false): Promise<void> {
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
    // After signing in, the keyboard and a screen reader start at the account's status.
    if (focusAfter) document.getElementById('status-heading')?.focus();
  } catch (e) {
    if (signedOut(e)) return;
    if (!view.account) {
      renderUnreachable(describeLoad(e));
      return;
    }
    view.notice = { kind: 'error', text: describeLoad(e), retry: true };
    redraw();
  }
}

function renderLoading(): void {
  showPage(header(() => signOut()), h('main', { id: 'main' }, h('p', { className: 'loading', role: 'status' }, t('loading'))));
}

/** Before the account is known: the failure and a way to try again. */
function renderUnreachable(text: string): void {
  showPage(
    header(() => signOut()),
    h(
      'main',
      { id: 'main' },
      h(
        'div',
        { id: 'notice-box', role: 'alert' },
        h(
          'div',
          { className: 'notice notice-error' },
          h('p', { id: 'notice', tabindex: -1 }, text),
          h('button', { type: 'button', id: 'retry', onclick: () => void start(true) }, t('retry')),
        ),
      ),
    ),
  );
  document.getElementById('retry')?.focus();
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
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    // A new attempt: the last one's error no longer applies.
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    const api = new Api(token, () => {});
    try {
      await api.whoami();
    } catch (e) {
      // A token refused on the first try is a wrong token, not an ended session.
      error.textContent = signedOut(e) ? t('wrongToken') : describeLoad(e);
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    sessionStorage.setItem(kTokenKey, token);
    view.signInMessage = null;
    await start(true);
  });
  // The form is new each time: an old one's listeners must not stay.
  (document.getElementById('app') as HTMLElement).replaceChildren();
  showPage(header(), h('main', { id: 'main' }, form));
  (document.getElementById('token') as HTMLInputElement | null)?.focus();
}
