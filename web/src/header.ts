// The page's top bar: title, language picker and, when signed in, Sign out.
import { h } from './dom';
import { lang, setLang, t, type Lang } from './i18n';
import { redraw } from './state';

function languagePicker(): HTMLElement {
  const select = h(
    'select',
    {
      id: 'lang',
      'aria-label': t('language'),
      onchange: (ev: Event) => {
        setLang((ev.target as HTMLSelectElement).value as Lang);
        redraw();
        document.getElementById('lang')?.focus();
      },
    },
    h('option', { value: 'en', selected: lang === 'en' }, 'English'),
    h('option', { value: 'pl', selected: lang === 'pl' }, 'Polski'),
  );
  return h('label', { className: 'lang' }, h('span', { className: 'visually-hidden' }, t('language')), select);
}

/** The top bar; with onSignOut, a Sign out button that calls it. */
export function header(onSignOut?: () => void): HTMLElement {
  const right: HTMLElement[] = [languagePicker()];
  if (onSignOut) {
    right.push(h('button', { type: 'button', id: 'sign-out', onclick: () => onSignOut() }, t('signOut')));
  }
  return h(
    'header',
    { className: 'top' },
    h('div', {}, h('h1', {}, t('title')), h('p', { className: 'subtitle' }, t('subtitle'))),
    h('div', { className: 'top-tools' }, right),
  );
}
