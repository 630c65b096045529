export type Lang = 'en' | 'pl';

// The panel's words. A plural is its forms split by "|": in English one|other, in Polish
// one|few|many (tn() picks by Intl.PluralRules).
const en = {
  title: 'Email scripts',
  subtitle: 'E-mails sent by the scripts of your hosting',
  language: 'Language',
  signInTitle: 'Sign in',
  signInHelp: 'Paste the access token for this panel. Your hosting provider gives it to you: look in your hosting control panel, or ask their support.',
  token: 'Token',
  signIn: 'Sign in',
  signOut: 'Sign out',
  wrongToken: 'This token is not valid. Check that you pasted all of it, or ask your hosting provider for a new one.',
  sessionEnded: 'Your session has ended: the token has expired or was revoked. Sign in again with a valid token.',
  tokenRequired: 'Enter a token.',
  unreachable: 'The mail service cannot be reached right now. Your e-mails are not affected by this. Try again in a moment.',
  unreachableSince: 'The figures below were read at {time} and may be out of date.',
  loadFailed: 'The figures could not be read: {message}',
  retry: 'Try again',
  account: 'Account',
  loading: 'Loading…',
  readAt: 'Figures read at {time}. They refresh by themselves.',
  status: 'Status',
  active: 'Active',
  inactive: 'Inactive',
  purging: 'Purging',
  activeText: 'E-mails from your scripts are being sent.',
  activeWaiting: 'E-mails from your scripts wait: a sending limit is reached.',
  inactiveText: 'Sending is blocked. New e-mails from your scripts are held for {hold}, then deleted. Nothing is sent.',
  purgingText: 'The held e-mails are being deleted. Sending is unblocked by itself when this ends.',
  limitHour: 'The hourly limit of {limit} is reached. E-mails wait in the queue and go on from {time}.',
  limitDay: 'The daily limit of {limit} is reached. E-mails wait in the queue and go on from {time}.',
  blockedBy: 'Blocked by',
  reason: 'Reason',
  ownWords: 'Note',
  since: 'Since',
  by_customer: 'you',
  by_admin: 'the administrator',
  by_spam_guard: 'the spam guard',
  by_bounce_guard: 'the bounce guard',
  by_other: 'an automatic guard',
  reasonSpamFlood: 'Too many e-mails in one hour: your scripts sent {submitted} in the last hour, more than the limit of {limit}.',
  reasonSpamFloodPlain: 'Too many e-mails in one hour.',
  reasonBounceRate: 'Too many failed deliveries: {failed} of {attempted} in the last hour failed ({rate}%), more than the {limit}% allowed.',
  reasonBounceRateDoubled: 'Too many failed deliveries: {failed} of {attempted} in the last hour failed ({rate}%), more than the {limit}% allowed even after unblocking.',
  reasonBounceRatePlain: 'Too many failed deliveries.',
  reasonContentQuarantine: 'E-mails that look like spam or phishing: the content scanner stopped {quarantined} in the last hour, and the limit is {limit}.',
  reasonContentQuarantinePlain: 'E-mails that look like spam or phishing.',
  reasonUniqueRecipients: 'E-mails to too many different people: more than {limit} different recipients in the last hour.',
  reasonUniqueRecipientsPlain: 'E-mails to too many different people.',
  counters: 'Counters',
  sentTotal: 'Sent in total',
  sentToday: 'Sent today',
  sentHour: 'Sent in the last hour',
  errorsTotal: 'Failed in total',
  held: 'Held',
  queued: 'Queued',
  ofLimit: 'daily limit {max}',
  ofHourLimit: 'hourly limit {max}',
  noLimit: 'no limit',
  ofLimitSpoken: '{n} of a daily limit of {max}',
  ofHourLimitSpoken: '{n} of an hourly limit of {max}',
  actions: 'Actions',
  block: 'Block sending',
  purge: 'Purge e-mails',
  unblock: 'Unblock sending',
  changeRecipient: 'Change recipient',
  reportTo: 'Error reports go to',
  hintBlockFirst: 'Block sending first.',
  hintAlreadyBlocked: 'Sending is already blocked.',
  hintAlreadyBlockedByAdmin: 'Sending is already blocked by the administrator.',
  hintPurgeRunning: 'A purge is running. Wait until it ends.',
  hintNotBlocked: 'Sending is not blocked.',
  hintAdminBlock: 'Blocked by the administrator. Only the administrator can lift this block.',
  hintSpamBlock: 'Blocked after a flood of e-mails. Purge them instead: sending is unblocked when the purge ends.',
  hintNotAllowed: 'You cannot do this now.',
  confirm: 'Confirm',
  cancel: 'Cancel',
  close: 'Close',
  confirmBlockTitle: 'Block sending?',
  confirmBlockText: 'No e-mail is deleted. New e-mails from your scripts are held for {hold}. During that time you can unblock sending or purge the held e-mails.',
  confirmPurgeTitle: 'Purge the held e-mails?',
  confirmPurgeText: '{n} held e-mail will be deleted for good. Then sending is unblocked by itself.|{n} held e-mails will be deleted for good. Then sending is unblocked by itself.',
  confirmPurgeNone: 'No e-mails are held, so nothing is deleted. Sending is unblocked at once.',
  confirmUnblockTitle: 'Unblock sending?',
  confirmUnblockText: 'Sending starts again. {n} held e-mail will be sent.|Sending starts again. {n} held e-mails will be sent, oldest first.',
  confirmUnblockNone: 'Sending starts again. No e-mails are held.',
  changeRecipientTitle: 'Change the recipient of error reports',
  changeRecipientText: 'When sending fails, an error report is sent to this address the following day.',
  newAddress: 'E-mail address',
  invalidAddress: 'Enter one e-mail address, like jan@example.com.',
  addressRefused: 'This address cannot receive the reports. Enter one plain e-mail address, like jan@example.com.',
  recipientChanged: 'Error reports now go to {address}.',
  purgeDone: 'The purge has ended. Sending is unblocked.',
  refused: 'Not done: {message}',
  actionUnreachable: 'Not done: the mail service cannot be reached. Try again in a moment.',
  chartTitle: 'The last 30 days',
  chartSent: 'Sent',
  chartErrors: 'Failed',
  chartTable: 'The last 30 days as a table',
  day: 'Day',
  noVolumes: 'No e-mails in the last 30 days.',
  recentErrors: 'Recent errors',
  noErrors: 'There were no errors in the last 30 days.',
  date: 'Date',
  recipient: 'Recipient',
  problem: 'Problem',
  reply: 'Server reply',
  subject: 'Subject',
  from: 'From',
  to: 'To',
  expires: 'Expires',
  script: 'Script',
  cat_bad_mailbox: 'The mailbox does not exist.',
  cat_bad_domain: 'The recipient’s domain does not exist or takes no mail.',
  cat_mailbox_full: 'The recipient’s mailbox is full.',
  cat_spam_block: 'The receiving server refused the e-mail as spam.',
  cat_policy: 'The receiving server refused the e-mail by its rules.',
  cat_content: 'The receiving server refused the content of the e-mail.',
  cat_routing: 'The receiving server could not be reached.',
  cat_other: 'The receiving server refused the e-mail.',
  cat_suppressed: 'Not sent: this address failed before, so it is skipped for a while.',
  cat_expired: 'Not sent: it was held for longer than allowed while sending was blocked, then deleted.',
  cat_unclassified: 'Delivery failed.',
  heldMail: 'Held e-mails',
  heldHelp: 'Choose e-mails to send or delete now, without unblocking.',
  selectAll: 'Select all {n} shown',
  selectAllHint: 'Selects the {n} e-mails shown on this page only, not all {total} held. To act on all of them, use Purge e-mails or the sender and subject choice below.',
  selectRow: 'Select the e-mail to {to}, {subject}, from {date}',
  releaseSelected: 'Send selected',
  deleteSelected: 'Delete selected',
  chooseFirst: 'Choose e-mails in the list first.',
  heldMatchTitle: 'All held e-mails from one sender or with one subject',
  matchKind: 'Choose',
  matchFrom: 'From {value}',
  matchSubject: 'Subject: {value}',
  releaseMatching: 'Send all these',
  deleteMatching: 'Delete all these',
  confirmReleaseTitle: 'Send the chosen e-mails?',
  confirmReleaseText: '{n} chosen e-mail will be sent now. The others stay held, because sending is still blocked.|{n} chosen e-mails will be sent now. The others stay held, because sending is still blocked.',
  confirmDeleteTitle: 'Delete the chosen e-mails?',
  confirmDeleteText: '{n} chosen e-mail will be deleted for good.|{n} chosen e-mails will be deleted for good.',
  confirmReleaseMatchText: 'Every held e-mail of this choice ({what}) will be sent now. The others stay held.',
  confirmDeleteMatchText: 'Every held e-mail of this choice ({what}) will be deleted for good.',
  released: 'Sent: {n}.',
  deleted: 'Deleted: {n}.',
  moreToDo: 'More e-mails of this choice are left: do it again to go on.',
  moreHeld: 'Showing the newest {shown} of {total} held e-mails.',
  noSubject: '(no subject)',
  msgBlock: 'Sending is blocked. New e-mails are held for {hold}. Nothing was deleted.',
  msgUnblock: 'Sending is unblocked. The held e-mails are being sent, oldest first.',
  msgPurge: 'The held e-mails are being deleted. Sending is unblocked by itself when this ends.',
  sourcesTitle: 'Where the mail comes from (24 h)',
  sourcesHelp: 'The scripts, senders, recipient domains and subjects of the e-mails of the last 24 hours, most frequent first. The counts include held e-mails. A script you do not know may be a hacked site.',
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
  hours: '{n} hour|{n} hours',
  days: '{n} day|{n} days',
  // Content scanning (cards/quarantine.ts).
  quarantineTitle: 'Quarantined e-mails',
  quarantineHelp: 'The content scanner found these e-mails to be spam or phishing: they are not sent. They are deleted after 72 hours.',
  spamScore: 'spam score {score}: {symbols}',
  spamScoreOnly: 'spam score {score}',
  verdict: 'Verdict',
  releaseOne: 'Send anyway',
  releaseOneOf: 'Send anyway: {subject}',
  deleteOne: 'Delete',
  deleteOneOf: 'Delete: {subject}',
  confirmQuarantineReleaseTitle: 'Send this quarantined e-mail?',
  confirmQuarantineReleaseText: 'The scanner judged it spam. Send it only if you are sure it is not: a hacked site sends mail that looks real.',
  confirmQuarantineDeleteTitle: 'Delete this quarantined e-mail?',
  confirmQuarantineDeleteText: 'It is deleted for good.',
  quarantineReleased: 'The e-mail is being sent.',
  quarantineDeleted: 'The e-mail was deleted.',
  quarantineReleaseOff: 'Only your hosting provider can send quarantined e-mails. You can delete them.',
  // Sender identity: the Domains card (cards/domains.ts).
  domainsTitle: 'Domains',
  domainsHelp: 'The domains your scripts may send as. Publish the records below in each domain\'s DNS so that receivers trust its e-mails.',
  noDomains: 'No domains are set up for this account: ask your provider.',
  senderCheckOff: 'The sender of e-mails is not checked.',
  senderCheckDay: 'Since yesterday: {held} e-mails held and {refused} refused because their sender was not one of your domains.',
  dkimSigning: 'E-mails are signed (DKIM) with the key {selector} ({algorithm}).',
  dkimNone: 'No DKIM key: e-mails are not signed.',
  dnsRecord: 'Record',
  dnsName: 'Name',
  dnsState: 'State',
  dnsPublish: 'To publish',
  dnsOk: 'Published',
  dnsMissing: 'Missing',
  dnsMismatch: 'Different key',
  dnsNotAllowing: 'Does not allow our server',
  dnsError: 'Could not be checked',
  // Limits (cards/limits.ts).
  limits: 'Sending limits',
  limitPlan: 'Plan: {plan}',
  limitNoPlan: 'No plan: the server\'s limits, unless set for this account.',
  limitName: 'Limit',
  limitValue: 'Value',
  limitSource: 'Set by',
  limitMaxPerHour: 'E-mails an hour',
  limitMaxPerDay: 'E-mails a day',
  limitPerSender: 'E-mails an hour from one sender',
  limitPerFrom: 'E-mails an hour from one From address',
  limitPerScript: 'E-mails an hour from one script',
  limitRecipients: 'Recipients of one e-mail',
  limitUniqueRecipients: 'Different recipients an hour',
  limitOverLimit: 'Past a limit',
  limitWarnAt: 'Warning at',
  limitDefer: 'e-mails wait',
  limitRefuse: 'e-mails are refused',
  limitNone: 'no limit',
  limitSourceAccount: 'this account',
  limitSourcePlan: 'the plan',
  limitSourceServer: 'the server',
  // The administrator's overview of accounts.
  ovOpen: 'All accounts',
  ovTitle: 'All accounts',
  ovSearch: 'Name contains',
  ovSearchButton: 'Search',
  ovSort: 'Order',
  ovSortName: 'By name',
  ovSortSent: 'Most sent today',
  ovSortErrors: 'Most failed today',
  ovSortPending: 'Most held and queued',
  ovState: 'State',
  ovAnyState: 'Any',
  ovAnyBlocker: 'Anyone',
  ovByCustomer: 'the customer',
  ovBlockedBy: 'Blocked by {who}',
  ovFailedToday: 'Failed today',
  ovErrorRate: 'Failure rate',
  ovQuarantined: 'Spam stopped today',
  ovHeld: 'Held',
  ovQueued: 'Queued',
  ovChoose: 'Choose {name}',
  ovChooseAll: 'Choose every account on this page',
  ovNone: 'No account matches.',
  ovBlockChosen: 'Block chosen accounts',
  ovBlockChosenN: 'Block {n} chosen account|Block {n} chosen accounts',
  ovBlockTitle: 'Block sending of {n} account?|Block sending of {n} accounts?',
  ovBlockText: 'Their scripts’ new e-mails will be held, not sent: {names}. The customers see your reason.',
  ovReasonRequired: 'Give a reason: the customer sees it.',
  ovReasonTooLong: 'The reason must be at most 500 characters.',
  ovBlocked: '{n} account blocked.|{n} accounts blocked.',
  ovNotBlocked: 'Not blocked:',
  ovPrevious: 'Previous page',
  ovNext: 'Next page',
  ovPage: 'Page {n}',
  // Suppressed addresses (cards/suppressions.ts).
  suppressionsTitle: 'Suppressed addresses',
  suppressionsHelp: 'These addresses do not exist (or their domain takes no e-mail): your e-mails to them are not sent until the date shown, so that they do not hurt the reputation of your e-mails. Remove one if the address works again.',
  suppressedAddress: 'Address',
  suppressedWhy: 'Why',
  suppressedSince: 'Failed on',
  suppressedUntil: 'Suppressed until',
  removeSuppression: 'Remove',
  removeSuppressionOf: 'Remove the suppression of {address}',
  confirmRemoveSuppressionTitle: 'Send to this address again?',
  confirmRemoveSuppressionText: 'E-mails to {address} will be sent again. If the address still does not exist, they will fail again and it will be suppressed again.',
  suppressionRemoved: 'E-mails to {address} will be sent again.',
  // The complaint guard (a block's who and why; rate and limit in percent).
  by_complaint_guard: 'the complaint guard',
  reasonComplaintRate: 'Too many spam complaints: recipients marked {complaints} of the {sent} e-mails sent today as spam ({rate}%), more than the {limit}% allowed.',
  reasonComplaintRateDoubled: 'Too many spam complaints: recipients marked {complaints} of the {sent} e-mails sent today as spam ({rate}%), more than the {limit}% allowed even after unblocking.',
  reasonComplaintRatePlain: 'Too many spam complaints from recipients.',
  // The limits card: policy.suppress_for.
  limitSuppressFor: 'Addresses that do not exist are not sent to for',
  limitSuppressNever: 'not at all (off)',
};

export type Key = keyof typeof en;

const pl: Record<Key, string> = {
  title: 'Skrypty e-mail',
  subtitle: 'E-maile wysyłane przez skrypty Twojego hostingu',
  language: 'Język',
  signInTitle: 'Logowanie',
  signInHelp: 'Wklej token dostępu do tego panelu. Otrzymujesz go od dostawcy hostingu: znajdziesz go w panelu klienta hostingu albo uzyskasz od pomocy technicznej.',
  token: 'Token',
  signIn: 'Zaloguj się',
  signOut: 'Wyloguj się',
  wrongToken: 'Ten token jest nieprawidłowy. Sprawdź, czy wklejono go w całości, albo poproś dostawcę hostingu o nowy.',
  sessionEnded: 'Sesja się zakończyła: token wygasł lub został unieważniony. Zaloguj się ponownie prawidłowym tokenem.',
  tokenRequired: 'Wpisz token.',
  unreachable: 'Usługa poczty jest teraz nieosiągalna. Nie wpływa to na Twoje e-maile. Spróbuj ponownie za chwilę.',
  unreachableSince: 'Dane poniżej odczytano o {time} i mogą być nieaktualne.',
  loadFailed: 'Nie udało się odczytać danych: {message}',
  retry: 'Spróbuj ponownie',
  account: 'Konto',
  loading: 'Wczytywanie…',
  readAt: 'Dane odczytano o {time}. Odświeżają się same.',
  status: 'Status',
  active: 'Aktywny',
  inactive: 'Nieaktywny',
  purging: 'Czyszczenie',
  activeText: 'E-maile z Twoich skryptów są wysyłane.',
  activeWaiting: 'E-maile z Twoich skryptów czekają: osiągnięto limit wysyłki.',
  inactiveText: 'Wysyłka jest zablokowana. Nowe e-maile ze skryptów są wstrzymywane na {hold}, a potem usuwane. Nic nie jest wysyłane.',
  purgingText: 'Trwa usuwanie wstrzymanych e-maili. Gdy się zakończy, wysyłka zostanie odblokowana automatycznie.',
  limitHour: 'Osiągnięto godzinny limit {limit}. E-maile czekają w kolejce i zostaną wysłane od {time}.',
  limitDay: 'Osiągnięto dzienny limit {limit}. E-maile czekają w kolejce i zostaną wysłane od {time}.',
  blockedBy: 'Kto zablokował',
  reason: 'Powód',
  ownWords: 'Uwaga',
  since: 'Od',
  by_customer: 'Ty',
  by_admin: 'administrator',
  by_spam_guard: 'ochrona przed spamem',
  by_bounce_guard: 'ochrona przed błędami doręczeń',
  by_other: 'automatyczna ochrona',
  reasonSpamFlood: 'Zbyt wiele e-maili w ciągu godziny: w ostatniej godzinie Twoje skrypty wysłały {submitted}, a limit to {limit}.',
  reasonSpamFloodPlain: 'Zbyt wiele e-maili w ciągu godziny.',
  reasonBounceRate: 'Zbyt wiele nieudanych doręczeń: w ostatniej godzinie nie udało się {failed} z {attempted} ({rate}%), a dopuszczalne jest {limit}%.',
  reasonBounceRateDoubled: 'Zbyt wiele nieudanych doręczeń: w ostatniej godzinie nie udało się {failed} z {attempted} ({rate}%), a nawet po odblokowaniu dopuszczalne jest {limit}%.',
  reasonBounceRatePlain: 'Zbyt wiele nieudanych doręczeń.',
  reasonContentQuarantine: 'E-maile wyglądające na spam lub phishing: w ostatniej godzinie skaner treści zatrzymał {quarantined}, a limit to {limit}.',
  reasonContentQuarantinePlain: 'E-maile wyglądające na spam lub phishing.',
  reasonUniqueRecipients: 'E-maile do zbyt wielu różnych osób: w ostatniej godzinie ponad {limit} różnych odbiorców.',
  reasonUniqueRecipientsPlain: 'E-maile do zbyt wielu różnych osób.',
  counters: 'Liczniki',
  sentTotal: 'Wysłane łącznie',
  sentToday: 'Wysłane dziś',
  sentHour: 'Wysłane w ostatniej godzinie',
  errorsTotal: 'Nieudane łącznie',
  held: 'Wstrzymane',
  queued: 'W kolejce',
  ofLimit: 'limit dzienny {max}',
  ofHourLimit: 'limit godzinny {max}',
  noLimit: 'bez limitu',
  ofLimitSpoken: '{n} z dziennego limitu {max}',
  ofHourLimitSpoken: '{n} z godzinnego limitu {max}',
  actions: 'Działania',
  block: 'Zablokuj wysyłkę',
  purge: 'Wyczyść e-maile',
  unblock: 'Odblokuj wysyłkę',
  changeRecipient: 'Zmień odbiorcę',
  reportTo: 'Raporty z błędami otrzymuje',
  hintBlockFirst: 'Najpierw zablokuj wysyłkę.',
  hintAlreadyBlocked: 'Wysyłka jest już zablokowana.',
  hintAlreadyBlockedByAdmin: 'Wysyłka jest już zablokowana przez administratora.',
  hintPurgeRunning: 'Trwa czyszczenie. Poczekaj, aż się zakończy.',
  hintNotBlocked: 'Wysyłka nie jest zablokowana.',
  hintAdminBlock: 'Zablokowane przez administratora. Tylko administrator może zdjąć tę blokadę.',
  hintSpamBlock: 'Zablokowane po zalewie e-maili. Zamiast tego wyczyść e-maile: po czyszczeniu wysyłka zostanie odblokowana.',
  hintNotAllowed: 'Nie możesz teraz tego zrobić.',
  confirm: 'Zatwierdź',
  cancel: 'Anuluj',
  close: 'Zamknij',
  confirmBlockTitle: 'Zablokować wysyłkę?',
  confirmBlockText: 'Żaden e-mail nie zostanie usunięty. Nowe e-maile ze skryptów będą wstrzymywane na {hold}. W tym czasie możesz odblokować wysyłkę lub wyczyścić wstrzymane e-maile.',
  confirmPurgeTitle: 'Wyczyścić wstrzymane e-maile?',
  confirmPurgeText: '{n} wstrzymany e-mail zostanie trwale usunięty. Potem wysyłka zostanie odblokowana automatycznie.|{n} wstrzymane e-maile zostaną trwale usunięte. Potem wysyłka zostanie odblokowana automatycznie.|{n} wstrzymanych e-maili zostanie trwale usuniętych. Potem wysyłka zostanie odblokowana automatycznie.',
  confirmPurgeNone: 'Nie ma wstrzymanych e-maili, więc nic nie zostanie usunięte. Wysyłka zostanie od razu odblokowana.',
  confirmUnblockTitle: 'Odblokować wysyłkę?',
  confirmUnblockText: 'Wysyłka zostanie wznowiona. {n} wstrzymany e-mail zostanie wysłany.|Wysyłka zostanie wznowiona. {n} wstrzymane e-maile zostaną wysłane, od najstarszego.|Wysyłka zostanie wznowiona. {n} wstrzymanych e-maili zostanie wysłanych, od najstarszego.',
  confirmUnblockNone: 'Wysyłka zostanie wznowiona. Nie ma wstrzymanych e-maili.',
  changeRecipientTitle: 'Zmiana odbiorcy raportów z błędami',
  changeRecipientText: 'Gdy wysyłka się nie uda, raport z błędami zostanie wysłany na ten adres następnego dnia.',
  newAddress: 'Adres e-mail',
  invalidAddress: 'Wpisz jeden adres e-mail, np. jan@example.com.',
  addressRefused: 'Na ten adres nie można wysyłać raportów. Wpisz jeden zwykły adres e-mail, np. jan@example.com.',
  recipientChanged: 'Raporty z błędami otrzymuje teraz {address}.',
  purgeDone: 'Czyszczenie zakończone. Wysyłka jest odblokowana.',
  refused: 'Nie wykonano: {message}',
  actionUnreachable: 'Nie wykonano: usługa poczty jest nieosiągalna. Spróbuj ponownie za chwilę.',
  chartTitle: 'Ostatnie 30 dni',
  chartSent: 'Wysłane',
  chartErrors: 'Nieudane',
  chartTable: 'Ostatnie 30 dni w tabeli',
  day: 'Dzień',
  noVolumes: 'W ciągu ostatnich 30 dni nie było e-maili.',
  recentErrors: 'Ostatnie błędy',
  noErrors: 'W ciągu ostatnich 30 dni nie było błędów.',
  date: 'Data',
  recipient: 'Odbiorca',
  problem: 'Problem',
  reply: 'Odpowiedź serwera',
  subject: 'Temat',
  from: 'Od',
  to: 'Do',
  expires: 'Wygasa',
  script: 'Skrypt',
  cat_bad_mailbox: 'Taka skrzynka nie istnieje.',
  cat_bad_domain: 'Domena odbiorcy nie istnieje lub nie przyjmuje poczty.',
  cat_mailbox_full: 'Skrzynka odbiorcy jest pełna.',
  cat_spam_block: 'Serwer odbiorcy odrzucił e-mail jako spam.',
  cat_policy: 'Serwer odbiorcy odrzucił e-mail zgodnie ze swoimi zasadami.',
  cat_content: 'Serwer odbiorcy odrzucił treść e-maila.',
  cat_routing: 'Nie udało się połączyć z serwerem odbiorcy.',
  cat_other: 'Serwer odbiorcy odrzucił e-mail.',
  cat_suppressed: 'Nie wysłano: ten adres wcześniej nie przyjął poczty, więc na razie jest pomijany.',
  cat_expired: 'Nie wysłano: e-mail był wstrzymany dłużej, niż to dozwolone, gdy wysyłka była zablokowana, i został usunięty.',
  cat_unclassified: 'Doręczenie nie powiodło się.',
  heldMail: 'Wstrzymane e-maile',
  heldHelp: 'Wybierz e-maile do wysłania lub usunięcia teraz, bez odblokowania wysyłki.',
  selectAll: 'Zaznacz wszystkie widoczne ({n})',
  selectAllHint: 'Zaznacza tylko e-maile widoczne na tej stronie ({n}), nie wszystkie wstrzymane ({total}). Aby objąć wszystkie, użyj przycisku Wyczyść e-maile albo wyboru nadawcy lub tematu poniżej.',
  selectRow: 'Zaznacz e-mail do {to}, {subject}, z {date}',
  releaseSelected: 'Wyślij zaznaczone',
  deleteSelected: 'Usuń zaznaczone',
  chooseFirst: 'Najpierw zaznacz e-maile na liście.',
  heldMatchTitle: 'Wszystkie wstrzymane e-maile od jednego nadawcy lub z jednym tematem',
  matchKind: 'Wybierz',
  matchFrom: 'Od {value}',
  matchSubject: 'Temat: {value}',
  releaseMatching: 'Wyślij wszystkie te',
  deleteMatching: 'Usuń wszystkie te',
  confirmReleaseTitle: 'Wysłać zaznaczone e-maile?',
  confirmReleaseText: '{n} zaznaczony e-mail zostanie wysłany teraz. Pozostałe nadal czekają, bo wysyłka jest zablokowana.|{n} zaznaczone e-maile zostaną wysłane teraz. Pozostałe nadal czekają, bo wysyłka jest zablokowana.|{n} zaznaczonych e-maili zostanie wysłanych teraz. Pozostałe nadal czekają, bo wysyłka jest zablokowana.',
  confirmDeleteTitle: 'Usunąć zaznaczone e-maile?',
  confirmDeleteText: '{n} zaznaczony e-mail zostanie trwale usunięty.|{n} zaznaczone e-maile zostaną trwale usunięte.|{n} zaznaczonych e-maili zostanie trwale usuniętych.',
  confirmReleaseMatchText: 'Wszystkie wstrzymane e-maile z tego wyboru ({what}) zostaną wysłane teraz. Pozostałe nadal czekają.',
  confirmDeleteMatchText: 'Wszystkie wstrzymane e-maile z tego wyboru ({what}) zostaną trwale usunięte.',
  released: 'Wysłane: {n}.',
  deleted: 'Usunięte: {n}.',
  moreToDo: 'Zostały jeszcze e-maile z tego wyboru. Powtórz, aby kontynuować.',
  moreHeld: 'Widać najnowsze {shown} z {total} wstrzymanych e-maili.',
  noSubject: '(bez tematu)',
  msgBlock: 'Wysyłka jest zablokowana. Nowe e-maile będą wstrzymywane na {hold}. Nic nie zostało usunięte.',
  msgUnblock: 'Wysyłka jest odblokowana. Wstrzymane e-maile są wysyłane, od najstarszego.',
  msgPurge: 'Trwa usuwanie wstrzymanych e-maili. Gdy się zakończy, wysyłka zostanie odblokowana automatycznie.',
  sourcesTitle: 'Skąd pochodzą e-maile (24 h)',
  sourcesHelp: 'Skrypty, nadawcy, domeny odbiorców i tematy e-maili z ostatnich 24 godzin, od najczęstszych. Liczby obejmują też wstrzymane e-maile. Nieznany skrypt może oznaczać włamanie na stronę.',
  sourceScripts: 'Skrypty',
  sourceSenders: 'Nadawcy',
  sourceDomains: 'Domeny odbiorców',
  sourceSubjects: 'Tematy',
  emails: 'E-maile',
  noSources: 'W ciągu ostatnich 24 godzin nie było e-maili.',
  noneYet: 'Brak',
  nullSender: '(pusty nadawca <>)',
  otherSources: '(wiele innych)',
  headers: 'Nagłówki',
  headersOf: 'Nagłówki e-maila: {subject}',
  headersTitle: 'Nagłówki e-maila',
  hours: '{n} godzinę|{n} godziny|{n} godzin',
  days: '{n} dzień|{n} dni|{n} dni',
  // Skanowanie treści (cards/quarantine.ts).
  quarantineTitle: 'E-maile w kwarantannie',
  quarantineHelp: 'Skaner treści uznał te e-maile za spam lub phishing: nie są wysyłane. Zostaną usunięte po 72 godzinach.',
  spamScore: 'wynik spamu {score}: {symbols}',
  spamScoreOnly: 'wynik spamu {score}',
  verdict: 'Ocena',
  releaseOne: 'Wyślij mimo to',
  releaseOneOf: 'Wyślij mimo to: {subject}',
  deleteOne: 'Usuń',
  deleteOneOf: 'Usuń: {subject}',
  confirmQuarantineReleaseTitle: 'Wysłać ten e-mail z kwarantanny?',
  confirmQuarantineReleaseText: 'Skaner uznał go za spam. Wyślij go tylko, jeśli masz pewność, że nim nie jest: przejęta strona wysyła pocztę, która wygląda na prawdziwą.',
  confirmQuarantineDeleteTitle: 'Usunąć ten e-mail z kwarantanny?',
  confirmQuarantineDeleteText: 'Zostanie trwale usunięty.',
  quarantineReleased: 'E-mail jest wysyłany.',
  quarantineDeleted: 'E-mail został usunięty.',
  quarantineReleaseOff: 'E-maile z kwarantanny może wysłać tylko dostawca hostingu. Możesz je usunąć.',
  // Sender identity: the Domains card (cards/domains.ts).
  domainsTitle: 'Domeny',
  domainsHelp: 'Domeny, w imieniu których mogą wysyłać Twoje skrypty. Opublikuj poniższe rekordy w DNS każdej domeny, aby odbiorcy ufali jej e-mailom.',
  noDomains: 'To konto nie ma skonfigurowanych domen: zwróć się do dostawcy.',
  senderCheckOff: 'Nadawca e-maili nie jest sprawdzany.',
  senderCheckDay: 'Od wczoraj: {held} e-maili wstrzymanych i {refused} odrzuconych, bo ich nadawca nie był jedną z Twoich domen.',
  dkimSigning: 'E-maile są podpisywane (DKIM) kluczem {selector} ({algorithm}).',
  dkimNone: 'Brak klucza DKIM: e-maile nie są podpisywane.',
  dnsRecord: 'Rekord',
  dnsName: 'Nazwa',
  dnsState: 'Stan',
  dnsPublish: 'Do opublikowania',
  dnsOk: 'Opublikowany',
  dnsMissing: 'Brak',
  dnsMismatch: 'Inny klucz',
  dnsNotAllowing: 'Nie dopuszcza naszego serwera',
  dnsError: 'Nie udało się sprawdzić',
  // Limity (cards/limits.ts).
  limits: 'Limity wysyłki',
  limitPlan: 'Plan: {plan}',
  limitNoPlan: 'Bez planu: limity serwera, chyba że ustawiono je dla tego konta.',
  limitName: 'Limit',
  limitValue: 'Wartość',
  limitSource: 'Ustawia',
  limitMaxPerHour: 'E-maile na godzinę',
  limitMaxPerDay: 'E-maile na dzień',
  limitPerSender: 'E-maile na godzinę od jednego nadawcy',
  limitPerFrom: 'E-maile na godzinę z jednego adresu Od',
  limitPerScript: 'E-maile na godzinę z jednego skryptu',
  limitRecipients: 'Odbiorcy jednego e-maila',
  limitUniqueRecipients: 'Różni odbiorcy na godzinę',
  limitOverLimit: 'Po przekroczeniu',
  limitWarnAt: 'Ostrzeżenie przy',
  limitDefer: 'e-maile czekają',
  limitRefuse: 'e-maile są odrzucane',
  limitNone: 'bez limitu',
  limitSourceAccount: 'to konto',
  limitSourcePlan: 'plan',
  limitSourceServer: 'serwer',
  // Przegląd kont administratora.
  ovOpen: 'Wszystkie konta',
  ovTitle: 'Wszystkie konta',
  ovSearch: 'Nazwa zawiera',
  ovSearchButton: 'Szukaj',
  ovSort: 'Kolejność',
  ovSortName: 'Według nazwy',
  ovSortSent: 'Najwięcej wysłanych dziś',
  ovSortErrors: 'Najwięcej nieudanych dziś',
  ovSortPending: 'Najwięcej czekających',
  ovState: 'Stan',
  ovAnyState: 'Dowolny',
  ovAnyBlocker: 'Ktokolwiek',
  ovByCustomer: 'klient',
  ovBlockedBy: 'Zablokował: {who}',
  ovFailedToday: 'Nieudane dziś',
  ovErrorRate: 'Odsetek nieudanych',
  ovQuarantined: 'Spam zatrzymany dziś',
  ovHeld: 'Wstrzymane',
  ovQueued: 'W kolejce',
  ovChoose: 'Wybierz {name}',
  ovChooseAll: 'Wybierz wszystkie konta na tej stronie',
  ovNone: 'Żadne konto nie pasuje.',
  ovBlockChosen: 'Zablokuj wybrane konta',
  ovBlockChosenN: 'Zablokuj {n} wybrane konto|Zablokuj {n} wybrane konta|Zablokuj {n} wybranych kont',
  ovBlockTitle: 'Zablokować wysyłkę {n} konta?|Zablokować wysyłkę {n} kont?|Zablokować wysyłkę {n} kont?',
  ovBlockText: 'Nowe e-maile ich skryptów będą wstrzymywane, nie wysyłane: {names}. Klienci zobaczą podany powód.',
  ovReasonRequired: 'Podaj powód: klient go zobaczy.',
  ovReasonTooLong: 'Powód może mieć najwyżej 500 znaków.',
  ovBlocked: 'Zablokowano {n} konto.|Zablokowano {n} konta.|Zablokowano {n} kont.',
  ovNotBlocked: 'Nie zablokowano:',
  ovPrevious: 'Poprzednia strona',
  ovNext: 'Następna strona',
  ovPage: 'Strona {n}',
  // Wstrzymane adresy (cards/suppressions.ts).
  suppressionsTitle: 'Wstrzymane adresy',
  suppressionsHelp: 'Te adresy nie istnieją (albo ich domena nie przyjmuje poczty): Twoje e-maile do nich nie są wysyłane do podanej daty, żeby nie szkodziły reputacji Twoich e-maili. Usuń adres, jeśli znów działa.',
  suppressedAddress: 'Adres',
  suppressedWhy: 'Powód',
  suppressedSince: 'Błąd z dnia',
  suppressedUntil: 'Wstrzymany do',
  removeSuppression: 'Usuń',
  removeSuppressionOf: 'Usuń wstrzymanie adresu {address}',
  confirmRemoveSuppressionTitle: 'Znów wysyłać na ten adres?',
  confirmRemoveSuppressionText: 'E-maile do {address} będą znów wysyłane. Jeśli adres nadal nie istnieje, znów się nie doręczą i adres zostanie ponownie wstrzymany.',
  suppressionRemoved: 'E-maile do {address} będą znów wysyłane.',
  // The complaint guard (a block's who and why; rate and limit in percent).
  by_complaint_guard: 'ochrona przed zgłoszeniami spamu',
  reasonComplaintRate: 'Zbyt wiele zgłoszeń spamu: odbiorcy oznaczyli jako spam {complaints} z {sent} e-maili wysłanych dzisiaj ({rate}%), a dopuszczalne jest {limit}%.',
  reasonComplaintRateDoubled: 'Zbyt wiele zgłoszeń spamu: odbiorcy oznaczyli jako spam {complaints} z {sent} e-maili wysłanych dzisiaj ({rate}%), a nawet po odblokowaniu dopuszczalne jest {limit}%.',
  reasonComplaintRatePlain: 'Zbyt wiele zgłoszeń spamu od odbiorców.',
  // The limits card: policy.suppress_for.
  limitSuppressFor: 'Nieistniejące adresy są pomijane przez',
  limitSuppressNever: 'wcale (wyłączone)',
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
  // Not the daemon's: the panel's own code for a report_to the daemon refused (400).
  address_refused: 'addressRefused',
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

function locale(): string {
  return lang === 'pl' ? 'pl-PL' : 'en-GB';
}

/** A plural (a key whose forms are split by "|") for n, with {n} as the number. */
export function tn(key: Key, n: number, vars: Record<string, string | number> = {}): string {
  const forms = t(key, { ...vars, n: formatNumber(n) }).split('|');
  const rule = new Intl.PluralRules(locale()).select(n);
  const index = lang === 'pl' ? { one: 0, few: 1, many: 2, other: 1 }[rule as string] ?? 2 : rule === 'one' ? 0 : 1;
  return forms[Math.min(index, forms.length - 1)];
}

/** A time of day, with the date when it is not today. */
export function formatTime(d: Date): string {
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return d.toLocaleString(locale(), sameDay ? { timeStyle: 'short' } : { dateStyle: 'medium', timeStyle: 'short' });
}

/** How long mail is held (policy.hold): whole days or hours, as "72 hours" or "3 days". */
export function formatHold(seconds: number): string {
  const hours = Math.round(seconds / 3600);
  if (hours >= 24 && hours % 24 === 0 && hours > 72) return tn('days', hours / 24);
  return tn('hours', Math.max(1, hours));
}

// The block reasons the daemon gives as codes (reason_code, reason_params of the status).
const kReasons: Record<string, Key | null> = {
  spam_flood: 'reasonSpamFlood',
  bounce_rate: 'reasonBounceRate',
  bounce_rate_doubled: 'reasonBounceRateDoubled',
  content_quarantine: 'reasonContentQuarantine',
  unique_recipients: 'reasonUniqueRecipients',
  complaint_rate: 'reasonComplaintRate',
  complaint_rate_doubled: 'reasonComplaintRateDoubled',
  by_customer: null,
  by_admin: null,
};
const kPlainReasons: Record<string, Key> = {
  spam_flood: 'reasonSpamFloodPlain',
  bounce_rate: 'reasonBounceRatePlain',
  bounce_rate_doubled: 'reasonBounceRatePlain',
  content_quarantine: 'reasonContentQuarantinePlain',
  unique_recipients: 'reasonUniqueRecipientsPlain',
  complaint_rate: 'reasonComplaintRatePlain',
  complaint_rate_doubled: 'reasonComplaintRatePlain',
};
// Numbers of a reason given in hundredths of a percent (per 10,000), shown in percent.
const kPer10000: Record<string, readonly string[]> = {
  complaint_rate: ['rate', 'limit'],
  complaint_rate_doubled: ['rate', 'limit'],
};

/** A block's reason in the page's language: `own` when it is words someone wrote (no code),
 * null when it only repeats who blocked. */
export function blockReasonText(
  code: string | null | undefined,
  params: Record<string, number> | undefined,
): string | null {
  if (!code || !(code in kReasons)) return null;
  const key = kReasons[code];
  if (!key) return null;
  const p = params ?? {};
  if (Object.keys(p).length === 0) return t(kPlainReasons[code]);
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(p)) {
    vars[k] = kPer10000[code]?.includes(k) ? formatNumber(v / 100) : formatNumber(v);
  }
  return t(key, vars);
}

export function knownReasonCode(code: string | null | undefined): boolean {
  return !!code && code in kReasons;
}

// The failure categories of the errors list (`category`).
const kCategories = [
  'bad_mailbox', 'bad_domain', 'mailbox_full', 'spam_block', 'policy', 'content', 'routing',
  'other', 'suppressed', 'expired', 'unclassified',
] as const;

/** A failure's category in the page's language; null for none or one the panel does not know. */
export function categoryText(category: string | null | undefined): string | null {
  if (!category || !(kCategories as readonly string[]).includes(category)) return null;
  return t(`cat_${category}` as Key);
}

/** Whether a failure of this category was the daemon's own doing (no server replied). */
export function ownFailure(category: string | null | undefined): boolean {
  return category === 'expired' || category === 'suppressed';
}
