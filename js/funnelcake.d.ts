// Type definitions for funnelcake's browser API (window.funnelcake).
// Money is always an integer count of minor units (cents for USD, yen for JPY, fils for KWD),
// keyed by ISO 4217 currency code; amounts without a currency are keyed "XXX".

export type Privacy = 'respect' | 'strict' | 'ignore';
export type Consent = 'granted' | 'pending' | 'denied';

/** A funnel step: an event name, or an event with a label and property conditions. */
export type FunnelStepConfig = string | { event: string; name?: string; where?: Record<string, unknown> };

export interface FunnelConfig {
  name: string;
  steps: FunnelStepConfig[];
}

export interface Config {
  /** Site id (required). */
  site: string;
  /** Collector batch URL. Default `/v1/batch` on the page origin. */
  endpoint?: string;
  /** Send when this many events are queued. Default 20 (1–500). */
  flushAt?: number;
  /** Send when the oldest unsent event is this old, ms. Default 5000 (100–60000). */
  flushIntervalMs?: number;
  /** Largest request body, bytes. Default 60000 (1024–65536). */
  maxBatchBytes?: number;
  /** Most unsent events kept. Default 1000 (10–10000). */
  maxQueueEvents?: number;
  /** Most bytes of persisted queue. Default 1000000 (10000–4000000). */
  maxQueueBytes?: number;
  /** Delivery attempts per event. Default 10 (1–100). */
  maxAttempts?: number;
  /** Minutes of inactivity that end a session. Default 30 (1–1440). */
  sessionTimeoutMin?: number;
  /** Send a page view on load, on SPA navigation and when the back/forward cache shows the page again. Default true. */
  autoPageviews?: boolean;
  /** Capture from window.dataLayer. Default true. */
  dataLayer?: boolean;
  /** Do Not Track / Global Privacy Control handling. Default 'respect'. */
  privacy?: Privacy;
  /** Initial consent state. Default 'granted'. */
  consent?: Consent;
  /** Currency for values given without one. Default none (such values are flagged). */
  currency?: string;
  /** Custom funnels, besides the default funnel. */
  funnels?: FunnelConfig[];
  /** Log dropped calls and config adjustments to the console. Default false. */
  debug?: boolean;
}

/** Money per currency: `{ USD: 1999 }` is $19.99. */
export type MoneyMap = Record<string, number>;

/** A product. GA4 (`item_id`, `item_name`, …), Segment (`product_id`, `sku`) and plain names are accepted. */
export interface Item {
  item_id?: string | number;
  id?: string | number;
  item_name?: string;
  name?: string;
  item_brand?: string;
  brand?: string;
  item_category?: string;
  category?: string | string[];
  item_variant?: string;
  variant?: string;
  /** Unit price in major units (19.99), a numeric string, or `{ amount, currencyCode }`. */
  price?: number | string | { amount: number | string; currencyCode?: string };
  /** Positive whole number. Default 1. */
  quantity?: number | string;
  discount?: number | string;
  coupon?: string;
  item_list_name?: string;
  index?: number;
  currency?: string;
  [key: string]: unknown;
}

export interface Cart {
  items: Item[];
  /** Total in major units; derived from the items when absent. */
  value?: number | string;
  currency?: string;
  [key: string]: unknown;
}

export interface Order extends Partial<Cart> {
  transaction_id: string | number;
  tax?: number | string;
  shipping?: number | string;
  coupon?: string;
}

export interface FunnelStep {
  name: string;
  /** First time the step's event happened this session (any order), epoch ms. */
  reachedAt: number | null;
  /** Ms from the previous reached step. */
  sincePreviousMs: number | null;
}

export interface Funnel {
  name: string;
  steps: FunnelStep[];
  /** Furthest step completed in order (the last step when converted). */
  furthestStep: string | null;
  /** Its index, -1 when no step was reached. */
  furthestIndex: number;
  /** First step not completed in order, for a session that did not convert. */
  dropOffStep: string | null;
  /** Converted without completing every step in order. */
  skippedSteps: boolean;
  converted: boolean;
}

export interface CartLine {
  id: string;
  variant: string | null;
  quantity: number;
  unitPrice: number | null;
  currency: string;
}

/** The current session's metrics (see METRICS.md for every formula). */
export interface Metrics {
  sessionId: string | null;
  anonymousId: string;
  visitNumber: number;
  newVisitor: boolean;
  startedAt: number | null;
  lastActivityAt: number | null;
  durationMs: number;
  engagedMs: number;
  engaged: boolean;
  pageViews: number;
  landingPage: string | null;
  exitPage: string | null;
  source: {
    kind: 'direct' | 'organic_search' | 'paid_search' | 'social' | 'email' | 'referral';
    source: string | null;
    medium: string | null;
    campaign: string | null;
    term: string | null;
    content: string | null;
    referrer: string | null;
  };
  funnel: Funnel;
  funnels: Record<string, Funnel>;
  cart: { state: 'known' | 'unknown'; items: CartLine[]; count: number; value: MoneyMap };
  cartAbandoned: boolean;
  checkoutAbandoned: boolean;
  orders: { id: string; value: number; currency: string }[];
  orderCount: number;
  revenue: MoneyMap;
  aov: MoneyMap;
  refunds: MoneyMap;
  converted: boolean;
  experiments: Record<string, number>;
  dropped: { total: number; byReason: Record<string, number> };
}

/** GrowthBook-compatible experiment options (assignment matches GrowthBook's SDKs). */
export interface ExperimentOptions<T = unknown> {
  /** The variations' values (index 0 is control), or their number. */
  variations: T[] | number;
  /** Traffic split, summing to 1 (default equal). */
  weights?: number[];
  /** Share of visitors included, 0–1 (default 1). */
  coverage?: number;
  /** Hash seed (default the key). */
  seed?: string;
  /** GrowthBook hash version, 1 or 2 (default 1). */
  hashVersion?: 1 | 2;
  /** Explicit bucket ranges `[start, end)`, overriding weights and coverage. */
  ranges?: [number, number][];
  /** Namespace `[id, start, end]`: mutually exclusive experiments. */
  namespace?: [string, number, number];
  /** Hash-range filters (GrowthBook `filters`). */
  filters?: { seed: string; ranges: [number, number][]; hashVersion?: 1 | 2; attribute?: string }[];
  /** Forces a variation for everyone. */
  force?: number;
  /** false: nobody is in the experiment. */
  active?: boolean;
  /**
   * Hears the assignment. Called at once when the SDK is ready; for a call made before it is
   * ready (which returns control, not measured), called again once it is, and only then is the
   * visitor exposed and measured.
   */
  onAssign?: (result: ExperimentResult<T>) => void;
}

/** What `experiment()` returns. */
export interface ExperimentResult<T = unknown> {
  /** Variation index (0 = control, also when not in the experiment). */
  variation: number;
  /** `variations[variation]` (the index itself when `variations` is a number). */
  value: T;
  /** The visitor is in the experiment: exposed (`experiment_viewed`) and measured. */
  inExperiment: boolean;
}

export interface Funnelcake {
  /** Starts the SDK and records the page view (`autoPageviews`); false if the config is unusable.
   *  Called again, the new config replaces the old; for the same site, queued events are kept
   *  and no second page view is recorded. */
  init(config: Config): boolean;
  page(props?: Record<string, unknown>): void;
  track(name: string, props?: Record<string, unknown>): void;
  viewItem(item: Item): void;
  addToCart(item: Item): void;
  removeFromCart(item: Item): void;
  viewCart(cart: Cart): void;
  beginCheckout(cart: Cart): void;
  checkoutStep(step: 'contact' | 'shipping' | 'payment' | 1 | 2 | 3 | string | number, props?: Record<string, unknown>): void;
  purchase(order: Order): void;
  refund(order: Order): void;
  search(query: string | Record<string, unknown>): void;
  identify(userId: string | null, traits?: Record<string, unknown>): void;
  /**
   * 'pending' keeps events in memory, unsent and unpersisted; 'denied' discards queued events,
   * removes stored ids and drops new events (counted as consent_denied); 'granted' resumes.
   */
  consent(state: Consent): void;
  reset(): void;
  /**
   * Assigns this visitor (sticky, GrowthBook-compatible); `?fc_exp_<key>=<n>` in the URL forces a
   * variation for QA. The first exposure in a session sends `experiment_viewed`; later events and
   * the session summary carry the assignment.
   */
  experiment<T = unknown>(key: string, options: ExperimentOptions<T>): ExperimentResult<T>;
  /** The current snapshot; null before the SDK is ready. */
  metrics(): Metrics | null;
  /** Calls `cb` after every call that records or drops something (in the task after the call;
   *  also after `consent`, `reset` and `init`'s page view). Returns an unsubscribe function. */
  on(event: 'metrics', cb: (metrics: Metrics) => void): () => void;
  /** Sends everything queued (after any batch in flight). Resolves with the number still
   *  pending: 0 once the collector has acknowledged all, more if a send failed. Never rejects. */
  flush(): Promise<number>;
  /** Ids and state for debugging: events not yet acknowledged (`pending`), whether what the SDK
   *  stores reaches localStorage (`persistent`), the wasm memory's size. Only on the loaded SDK
   *  (not the stub). */
  debugState?(): {
    anonymousId: string; sessionId: string; pending: number; persistent: boolean; memoryBytes: number;
  } | null;
  /** True once the wasm is loaded (false/undefined on the pre-load stub). */
  ready?: boolean;
}

declare global {
  interface Window {
    funnelcake: Funnelcake;
  }
}

// The ES module entry (`import { init, track } from 'funnelcake'`): the same methods, named.
// Each calls window.funnelcake (the queueing stub until the wasm is ready, the SDK after); the
// first call starts loading the wasm that sits beside the module.
export declare const init: Funnelcake['init'];
export declare const page: Funnelcake['page'];
export declare const track: Funnelcake['track'];
export declare const viewItem: Funnelcake['viewItem'];
export declare const addToCart: Funnelcake['addToCart'];
export declare const removeFromCart: Funnelcake['removeFromCart'];
export declare const viewCart: Funnelcake['viewCart'];
export declare const beginCheckout: Funnelcake['beginCheckout'];
export declare const checkoutStep: Funnelcake['checkoutStep'];
export declare const purchase: Funnelcake['purchase'];
export declare const refund: Funnelcake['refund'];
export declare const search: Funnelcake['search'];
export declare const identify: Funnelcake['identify'];
export declare const experiment: Funnelcake['experiment'];
export declare const consent: Funnelcake['consent'];
export declare const reset: Funnelcake['reset'];
export declare const metrics: Funnelcake['metrics'];
export declare const on: Funnelcake['on'];
export declare const flush: Funnelcake['flush'];
