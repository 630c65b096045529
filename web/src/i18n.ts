export type Lang = 'en' | 'pl';

const en = {
  title: 'Email scripts',
  subtitle: 'E-mails sent by the scripts of your hosting',
  language: 'Language',
  signInTitle: 'Sign in',
  signInHelp: 'Paste the API token of your hosting account (or the administrator token).',
  token: 'Token',
  signIn: 'Sign in',
  signOut: 'Sign out',
  sessionEnded: 'Your token was not accepted. Sign in again.',
  tokenRequired: 'Enter a token.',
  account: 'Account',
  loading: 'Loading…',
  status: 'Status',
  active: 'Active',
  inactive: 'Inactive',
  purging: 'Purging',
  activeText: 'E-mails from your scripts are being sent.',
  inactiveText: 'Sending is blocked. New e-mails are held for 72 hours, then deleted; nothing is sent.',
  purgingText: 'The held e-mails are being deleted. Sending is unblocked by itself when it ends (this can take 5-10 minutes).',
  blockedBy: 'Blocked by',
  reason: 'Reason',
  since: 'Since',
  by_customer: 'you (the customer)',
  by_admin: 'the administrator',
  by_spam_guard: 'the spam guard',
  by_bounce_guard: 'the bounce guard',
  reasonSpamGuard: 'too many e-mails in an hour',
  reasonBounceGuard: 'too many failed deliveries',
  counters: 'Counters',
  sent: 'Sent',
  sentToday: 'Sent today',
  ofMax: 'of {max}',
  errors: 'Errors',
  held: 'Held',
  queued: 'Queued',
  actions: 'Actions',
  block: 'Block sending',
  purge: 'Purge e-mails',
  unblock: 'Unblock sending',
  changeRecipient: 'Change recipient',
  reportTo: 'Error reports go to',
  hintBlockFirst: 'Block sending first.',
  hintAlreadyBlocked: 'Sending is already blocked.',
  hintAlreadyBlockedByAdmin: 'Sending is already blocked by the administrator.',
  hintPurgeRunning: 'A purge is running; wait until it ends.',
  hintNotBlocked: 'Sending is not blocked.',
  hintAdminBlock: 'Blocked by the administrator: only the administrator can lift this block.',
  hintSpamBlock: 'Blocked after a flood of e-mails: purge them instead; sending is unblocked when the purge ends.',
  confirm: 'Confirm',
  cancel: 'Cancel',
  close: 'Close',
  confirmBlockTitle: 'Block sending?',
  confirmBlockText: 'No e-mail is deleted. New e-mails from your scripts are held for 72 hours. During that time you can unblock sending or purge the held e-mails.',
  confirmPurgeTitle: 'Purge the held e-mails?',
  confirmPurgeText: 'All {held} held e-mails are deleted for good. Then sending is unblocked by itself; this takes 5-10 minutes.',
  confirmUnblockTitle: 'Unblock sending?',
  confirmUnblockText: 'Sending starts again. The {held} held e-mails are sent, oldest first.',
  changeRecipientTitle: 'Change the recipient of error reports',
  changeRecipientText: 'When sending fails, an error report is sent to this address the following day.',
  newAddress: 'E-mail address',
  invalidAddress: 'Enter one e-mail address, like name@example.com.',
  recipientChanged: 'Error reports now go to {address}.',
  purgeDone: 'The purge has ended. Sending is unblocked.',
  refused: 'Not done: {message}',
  networkError: 'The server cannot be reached. Try again.',
  chartTitle: 'The last 30 days',
  chartSent: 'Sent',
  chartErrors: 'Errors',
  recentErrors: 'Recent errors',
  noErrors: 'No errors in the last 30 days.',
  date: 'Date',
  recipient: 'Recipient',
  reply: 'Server reply',
  subject: 'Subject',
  from: 'From',
  to: 'To',
  script: 'Script',
  heldMail: 'Held e-mails',
  heldHelp: 'Choose e-mails to send or delete now, without unblocking.',
  selectAll: 'Select all',
  select: 'Select',
  releaseSelected: 'Send selected',
  deleteSelected: 'Delete selected',
  chooseFirst: 'Choose e-mails first.',
  confirmReleaseTitle: 'Send the chosen e-mails?',
  confirmReleaseText: '{n} held e-mails are sent now; sending stays blocked for the others.',
  confirmDeleteTitle: 'Delete the chosen e-mails?',
  confirmDeleteText: '{n} held e-mails are deleted for good.',
  released: '{n} e-mails are being sent.',
  deleted: '{n} e-mails were deleted.',
  moreHeld: 'Showing the newest {shown} of {total}.',
  noSubject: '(no subject)',
  msgBlock: 'Sending is blocked. New e-mails are held for 72 hours; nothing is deleted.',
  msgUnblock: 'Sending is unblocked. The held e-mails are being sent, oldest first.',
  msgPurge: 'The held e-mails are being deleted. Sending is unblocked by itself when it ends.',
  sourcesTitle: 'Where the mail comes from (24 h)',
  sourcesHelp: 'The scripts, senders, recipient domains and subjects of the e-mails of the last 24 hours, most frequent first. A script you do not know may be a hacked site.',
  sourceScripts: 'Scripts',
  sourceSenders: 'Senders',
  sourceDomains: 'Recipient domains',
  sourceSubjects: 'Subjects',
  emails: 'E-mails',
  noSources: 'No e-mails in the last 24 hours.',
  noneYet: 'None',
  nullSender: '(empty sender <>)',
  otherSources: '(many others)',
  headers: 'Headers',
  headersOf: 'Headers of the e-mail: {subject}',
  headersTitle: 'Headers of the e-mail',
};

export type Key = keyof typeof en;

const pl: Record<Key, string> = {
  title: 'Skrypty e-mail',
  subtitle: 'E-maile wysyłane przez skrypty Twojego hostingu',
  language: 'Język',
  signInTitle: 'Logowanie',
  signInHelp: 'Wklej token API swojego konta hostingowego (lub token administratora).',
  token: 'Token',
  signIn: 'Zaloguj się',
  signOut: 'Wyloguj się',
  sessionEnded: 'Token nie został przyjęty. Zaloguj się ponownie.',
  tokenRequired: 'Wpisz token.',
  account: 'Konto',
  loading: 'Wczytywanie…',
  status: 'Status',
  active: 'Aktywny',
  inactive: 'Nieaktywny',
  purging: 'Czyszczenie',
  activeText: 'E-maile z Twoich skryptów są wysyłane.',
  inactiveText: 'Wysyłka jest zablokowana. Nowe e-maile są wstrzymane przez 72 godziny, potem usuwane; nic nie jest wysyłane.',
  purgingText: 'Wstrzymane e-maile są usuwane. Po zakończeniu wysyłka zostanie odblokowana automatycznie (może to potrwać 5-10 minut).',
  blockedBy: 'Zablokowane przez',
  reason: 'Powód',
  since: 'Od',
  by_customer: 'Ciebie (klienta)',
  by_admin: 'administratora',
  by_spam_guard: 'ochronę przed spamem',
  by_bounce_guard: 'ochronę przed zwrotami',
  reasonSpamGuard: 'zbyt wiele e-maili w ciągu godziny',
  reasonBounceGuard: 'zbyt wiele nieudanych doręczeń',
  counters: 'Liczniki',
  sent: 'Wysłane',
  sentToday: 'Wysłane dziś',
  ofMax: 'z {max}',
  errors: 'Błędy',
  held: 'Wstrzymane',
  queued: 'W kolejce',
  actions: 'Działania',
  block: 'Zablokuj wysyłkę',
  purge: 'Wyczyść e-maile',
  unblock: 'Odblokuj wysyłkę',
  changeRecipient: 'Zmień odbiorcę',
  reportTo: 'Raporty z błędami otrzymuje',
  hintBlockFirst: 'Najpierw zablokuj wysyłkę.',
  hintAlreadyBlocked: 'Wysyłka jest już zablokowana.',
  hintAlreadyBlockedByAdmin: 'Wysyłka jest już zablokowana przez administratora.',
  hintPurgeRunning: 'Trwa czyszczenie; poczekaj na jego koniec.',
  hintNotBlocked: 'Wysyłka nie jest zablokowana.',
  hintAdminBlock: 'Zablokowane przez administratora: tylko administrator może zdjąć tę blokadę.',
  hintSpamBlock: 'Zablokowane po zalewie e-maili: wyczyść je; wysyłka zostanie odblokowana po czyszczeniu.',
  confirm: 'Zatwierdź',
  cancel: 'Anuluj',
  close: 'Zamknij',
  confirmBlockTitle: 'Zablokować wysyłkę?',
  confirmBlockText: 'Żaden e-mail nie zostanie usunięty. Nowe e-maile ze skryptów będą wstrzymane przez 72 godziny. W tym czasie możesz odblokować wysyłkę lub wyczyścić wstrzymane e-maile.',
  confirmPurgeTitle: 'Wyczyścić wstrzymane e-maile?',
  confirmPurgeText: 'Wszystkie wstrzymane e-maile ({held}) zostaną trwale usunięte. Potem wysyłka zostanie odblokowana automatycznie; trwa to 5-10 minut.',
  confirmUnblockTitle: 'Odblokować wysyłkę?',
  confirmUnblockText: 'Wysyłka rozpocznie się ponownie. Wstrzymane e-maile ({held}) zostaną wysłane, od najstarszego.',
  changeRecipientTitle: 'Zmiana odbiorcy raportów z błędami',
  changeRecipientText: 'Gdy wysyłka się nie uda, raport z błędami zostanie wysłany na ten adres kolejnego dnia.',
  newAddress: 'Adres e-mail',
  invalidAddress: 'Wpisz jeden adres e-mail, np. imie@example.com.',
  recipientChanged: 'Raporty z błędami otrzymuje teraz {address}.',
  purgeDone: 'Czyszczenie zakończone. Wysyłka jest odblokowana.',
  refused: 'Nie wykonano: {message}',
  networkError: 'Brak połączenia z serwerem. Spróbuj ponownie.',
  chartTitle: 'Ostatnie 30 dni',
  chartSent: 'Wysłane',
  chartErrors: 'Błędy',
  recentErrors: 'Ostatnie błędy',
  noErrors: 'Brak błędów w ostatnich 30 dniach.',
  date: 'Data',
  recipient: 'Odbiorca',
  reply: 'Odpowiedź serwera',
  subject: 'Temat',
  from: 'Od',
  to: 'Do',
  script: 'Skrypt',
  heldMail: 'Wstrzymane e-maile',
  heldHelp: 'Wybierz e-maile do wysłania lub usunięcia teraz, bez odblokowania.',
  selectAll: 'Zaznacz wszystkie',
  select: 'Zaznacz',
  releaseSelected: 'Wyślij zaznaczone',
  deleteSelected: 'Usuń zaznaczone',
  chooseFirst: 'Najpierw zaznacz e-maile.',
  confirmReleaseTitle: 'Wysłać zaznaczone e-maile?',
  confirmReleaseText: 'Wstrzymane e-maile ({n}) zostaną wysłane teraz; dla pozostałych wysyłka pozostaje zablokowana.',
  confirmDeleteTitle: 'Usunąć zaznaczone e-maile?',
  confirmDeleteText: 'Wstrzymane e-maile ({n}) zostaną trwale usunięte.',
  released: 'Wysyłane e-maile: {n}.',
  deleted: 'Usunięte e-maile: {n}.',
  moreHeld: 'Najnowsze {shown} z {total}.',
  noSubject: '(bez tematu)',
  msgBlock: 'Wysyłka jest zablokowana. Nowe e-maile są wstrzymane przez 72 godziny; nic nie zostało usunięte.',
  msgUnblock: 'Wysyłka jest odblokowana. Wstrzymane e-maile są wysyłane, od najstarszego.',
  msgPurge: 'Wstrzymane e-maile są usuwane. Po zakończeniu wysyłka zostanie odblokowana automatycznie.',
  sourcesTitle: 'Skąd pochodzą e-maile (24 h)',
  sourcesHelp: 'Skrypty, nadawcy, domeny odbiorców i tematy e-maili z ostatnich 24 godzin, od najczęstszych. Nieznany skrypt może oznaczać włamanie na stronę.',
  sourceScripts: 'Skrypty',
  sourceSenders: 'Nadawcy',
  sourceDomains: 'Domeny odbiorców',
  sourceSubjects: 'Tematy',
  emails: 'E-maile',
  noSources: 'Brak e-maili w ostatnich 24 godzinach.',
  noneYet: 'Brak',
  nullSender: '(pusty nadawca <>)',
  otherSources: '(wiele innych)',
  headers: 'Nagłówki',
  headersOf: 'Nagłówki e-maila: {subject}',
  headersTitle: 'Nagłówki e-maila',
};

const tables: Record<Lang, Record<Key, string>> = { en, pl };
const kStorage = 'mailwarden.lang';

function initialLang(): Lang {
  const saved = localStorage.getItem(kStorage);
  if (saved === 'en' || saved === 'pl') return saved;
  for (const l of navigator.languages ?? [navigator.language]) {
    if (l.toLowerCase().startsWith('pl')) return 'pl';
    if (l.toLowerCase().startsWith('en')) return 'en';
  }
  return 'en';
}

export let lang: Lang = initialLang();

export function setLang(l: Lang): void {
  lang = l;
  localStorage.setItem(kStorage, l);
  document.documentElement.lang = l;
}

export function t(key: Key, vars: Record<string, string | number> = {}): string {
  return tables[lang][key].replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? ''));
}

// The daemon's refusal codes (`actions` of the status, `reason` of a refused request) that the
// panel words itself.
const kRefusals: Partial<Record<string, Key>> = {
  not_blocked: 'hintNotBlocked',
  already_blocked: 'hintAlreadyBlocked',
  already_blocked_by_admin: 'hintAlreadyBlockedByAdmin',
  purge_running: 'hintPurgeRunning',
  purge_already_running: 'hintPurgeRunning',
  block_first: 'hintBlockFirst',
  admin_block: 'hintAdminBlock',
  spam_block: 'hintSpamBlock',
};

/** A refusal of the daemon in the page's language; its own English sentence for a code the
 * panel does not know. */
export function refusalText(reason: string | null | undefined, message: string): string {
  const key = reason ? kRefusals[reason] : undefined;
  return key ? t(key) : message;
}

export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(lang === 'pl' ? 'pl-PL' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
  });
}

export function formatNumber(n: number): string {
  return n.toLocaleString(lang === 'pl' ? 'pl-PL' : 'en-GB');
}
