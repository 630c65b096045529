// The daemon's HTTP API (/api/v1), as the panel uses it.

export type Action = 'BLOCK' | 'PURGE' | 'UNBLOCK';

/** Whether the caller may take an action now and, when not, why: the daemon's rules decide. */
export interface ActionAvailability {
  allowed: boolean;
  /** A stable code of the refusal (e.g. "admin_block"), to word it in the page's language. */
  reason: string | null;
  /** The refusal in English, for a code the panel does not know. */
  message: string | null;
}

export interface EmailStatus {
  account: string;
  state: 'active' | 'blocked' | 'purging';
  blocked_by: 'customer' | 'admin' | 'spam_guard' | 'bounce_guard' | 'complaint_guard' | null;
  /** The block's reason in English, for humans; as written for one someone gave. */
  reason: string | null;
  /** The reason as a code with its numbers (e.g. spam_flood, {submitted, limit}); null for
   * words someone wrote. */
  reason_code?: string | null;
  reason_params?: Record<string, number>;
  since: string;
  sent: number;
  sent_today: number;
  errors: number;
  held: number;
  queued: number;
  max_per_day: number;
  max_per_hour?: number;
  /** As the sending node counts it; null when it has not counted this account yet. */
  sent_last_hour?: number | null;
  /** Which quota holds the queued mail now ("hour" or "day"), and when the next may go. */
  limit_reached?: 'hour' | 'day' | null;
  sends_again?: string | null;
  /** How long held mail is kept before it expires (policy.hold). */
  hold_seconds?: number;
  report_to: string;
  actions: Record<Action, ActionAvailability>;
  message?: string;
}

export interface Whoami {
  account: string | null;
  admin: boolean;
}

export interface AccountItem {
  name: string;
  state: string;
}

/** One row of the accounts overview (admin: GET /accounts). */
export interface OverviewItem {
  name: string;
  state: string;
  blocked_by: string | null;
  reason: string | null;
  held: number;
  queued: number;
  sent_today: number;
  errors_today: number;
  quarantined_today: number;
  complaints_today: number;
  /** Submitted since the start of the previous clock hour (60 to 120 minutes). */
  submitted_recently: number;
  /** Of today's tried recipients, the share that failed; null before any was tried. */
  error_rate: number | null;
}

/** The fleet summary of the overview (admin: GET /fleet). */
export interface Fleet {
  accounts: number;
  states: Record<string, number>;
  blocked_by: Record<string, number>;
  guard_blocks: { at: string; account: string; guard: string; reason: string; still_blocked: boolean }[];
  busiest_since: string;
  busiest: { account: string; submitted: number }[];
  nodes: { name: string; version: string; started: string; last_seen: string; running: boolean }[];
}

export type OverviewSort =
  | 'name'
  | 'submitted_recently'
  | 'sent_today'
  | 'errors_today'
  | 'error_rate'
  | 'quarantined_today'
  | 'complaints_today'
  | 'held'
  | 'queued'
  | 'pending';

export interface OverviewQuery {
  sort: OverviewSort;
  state: string;
  blockedBy: string;
  q: string;
  cursor: string | null;
}

export interface DeliveryError {
  date: string;
  id: number;
  recipient: string;
  reply: string;
  subject: string;
  /** What kind of failure (bad_mailbox, expired, ...); absent from older daemons. */
  category?: string | null;
}

export interface Volume {
  day: string;
  sent: number;
  errors: number;
}

export interface HeldMessage {
  id: number;
  date: string;
  from: string;
  to: string[];
  subject: string;
  script: string | null;
}

/** The content scanner's word on a message (null: stored while scanning was off). */
export interface ScanVerdict {
  state: 'waiting' | 'scanned' | 'quarantined' | 'unscanned';
  action?: string;
  score?: number;
  symbols?: string[];
}

/** A message as tracking lists it (GET .../email/messages?q=). */
export interface TrackedMessage extends HeldMessage {
  status: 'queued' | 'held' | 'quarantined' | 'delivered' | 'failed' | 'expired' | 'purged';
  finished: string | null;
  attempts: number;
  recipients: number;
}

/** One message with its delivery and its history (GET .../email/messages/{id}). */
export interface MessageHistory extends TrackedMessage {
  delivery: { address: string; status: string; reply: string; category: string | null; at: string }[];
  events: { at: string; kind: string; address: string | null; detail: string }[];
  account_events: { at: string; action: string; actor: string; reason: string }[];
}

export interface QuarantinedMessage extends HeldMessage {
  scan: ScanVerdict | null;
}

export interface SourceCount {
  value: string;
  count: number;
  other?: boolean; // the panel's row for the e-mails of all values past the bound
}

export interface MailSources {
  hours: number;
  scripts: SourceCount[];
  senders: SourceCount[];
  domains: SourceCount[];
  subjects: SourceCount[];
  // Per kind, the e-mails of values that got no row of their own (past
  // store.max_sources_per_hour distinct values in their hour).
  other?: { scripts: number; senders: number; domains: number; subjects: number };
}

/** Held mail to act on: chosen by id, or every held e-mail from a sender or with a subject. */
export type HeldChoice = { ids: number[] } | { match: { from: string } | { subject: string } };

export interface MessageHeaders {
  id: number;
  headers: string;
}

/** A recipient the account's mail is not sent to (GET .../email/suppressions). */
export interface Suppression {
  address: string;
  category: string;
  category_text: string;
  status: string | null;
  reply: string;
  id: number;
  date: string;
  until: string;
}

export interface List<T> {
  items: T[];
  next: string | null;
}

/** A refusal with the API's own sentence, or a failure to reach it (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** For a refused action: the refusal's code, as in the status's `actions`. */
    readonly reason: string | null = null,
  ) {
    super(message);
  }

  /** The daemon did not answer (no connection, or a proxy in front says it is down). */
  get unreachable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

export class Api {
  constructor(
    private readonly token: string,
    private readonly onUnauthorized: () => void,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw new ApiError(0, 'network', '');
    }
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!response.ok) {
      const e = (json ?? {}) as { error?: string; message?: string; reason?: string };
      if (response.status === 401) this.onUnauthorized();
      throw new ApiError(response.status, e.error ?? 'error', e.message ?? response.statusText, e.reason ?? null);
    }
    return json as T;
  }

  private base(account: string): string {
    return `/accounts/${encodeURIComponent(account)}/email`;
  }

  whoami(): Promise<Whoami> {
    return this.call('GET', '/whoami');
  }
  /** The first 1,000 accounts by name (the API pages the rest: `next`). */
  accounts(): Promise<List<AccountItem>> {
    return this.call('GET', '/accounts?limit=1000');
  }
  /** A page of the accounts overview, as the daemon sorts and filters it. */
  overview(query: OverviewQuery, limit = 50): Promise<List<OverviewItem>> {
    const p = new URLSearchParams({ sort: query.sort, limit: String(limit) });
    if (query.state) p.set('state', query.state);
    if (query.blockedBy) p.set('blocked_by', query.blockedBy);
    if (query.q) p.set('q', query.q);
    if (query.cursor) p.set('cursor', query.cursor);
    return this.call('GET', `/accounts?${p.toString()}`);
  }
  /** The fleet summary: accounts per state, guard blocks, the busiest, the nodes. */
  fleet(): Promise<Fleet> {
    return this.call('GET', '/fleet');
  }
  /** Blocks an account with the administrator's reason. */
  block(account: string, reason: string): Promise<EmailStatus> {
    return this.call('POST', `${this.base(account)}/request`, { action: 'BLOCK', reason });
  }
  status(account: string): Promise<EmailStatus> {
    return this.call('GET', this.base(account));
  }
  request(account: string, action: Action): Promise<EmailStatus> {
    return this.call('POST', `${this.base(account)}/request`, { action });
  }
  changeReportTo(account: string, address: string): Promise<EmailStatus> {
    return this.call('PUT', this.base(account), { report_to: address });
  }
  errors(account: string): Promise<List<DeliveryError>> {
    return this.call('GET', `${this.base(account)}/errors?limit=20`);
  }
  volumes(account: string): Promise<List<Volume>> {
    return this.call('GET', `${this.base(account)}/volumes?days=30`);
  }
  held(account: string): Promise<List<HeldMessage>> {
    return this.call('GET', `${this.base(account)}/messages?status=held&limit=100`);
  }
  sources(account: string): Promise<MailSources> {
    return this.call('GET', `${this.base(account)}/sources?hours=24`);
  }
  headers(account: string, id: number): Promise<MessageHeaders> {
    return this.call('GET', `${this.base(account)}/messages/${id}`);
  }
  release(account: string, chosen: HeldChoice): Promise<{ released: number; more?: boolean }> {
    return this.call('POST', `${this.base(account)}/messages/release`, chosen);
  }
  remove(account: string, chosen: HeldChoice): Promise<{ deleted: number; more?: boolean }> {
    return this.call('POST', `${this.base(account)}/messages/delete`, chosen);
  }
  // Content scanning: the quarantine (cards/quarantine.ts).
  quarantined(account: string): Promise<List<QuarantinedMessage>> {
    return this.call('GET', `${this.base(account)}/messages?status=quarantined&limit=100`);
  }
  releaseQuarantined(account: string, ids: number[]): Promise<{ released: number }> {
    return this.call('POST', `${this.base(account)}/quarantine/release`, { ids });
  }
  deleteQuarantined(account: string, ids: number[]): Promise<{ deleted: number }> {
    return this.call('POST', `${this.base(account)}/quarantine/delete`, { ids });
  }
  // Tracking (cards/tracking.ts).
  track(account: string, q: string, status: string, cursor: string | null): Promise<List<TrackedMessage>> {
    const query = new URLSearchParams({ q, limit: '20' });
    if (status) query.set('status', status);
    if (cursor) query.set('cursor', cursor);
    return this.call('GET', `${this.base(account)}/messages?${query.toString()}`);
  }
  history(account: string, id: number): Promise<MessageHistory> {
    return this.call('GET', `${this.base(account)}/messages/${id}`);
  }
  // Suppressed recipients (cards/suppressions.ts).
  suppressions(account: string): Promise<List<Suppression>> {
    return this.call('GET', `${this.base(account)}/suppressions?limit=100`);
  }
  removeSuppression(account: string, address: string): Promise<{ removed: string }> {
    return this.call('DELETE', `${this.base(account)}/suppressions/${encodeURIComponent(address)}`);
  }
}
