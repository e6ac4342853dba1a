// node --test: js/tabs.js, the Web Locks and localStorage side of handing a closed tab's queue
// to an open one (rules in src/outbox.rs), with fake locks, storage and SDK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tabs = require('../tabs.js');

function fakeStorage(entries) {
  const map = new Map(Object.entries(entries));
  return {
    map,
    get length() { return map.size; },
    key: (i) => [...map.keys()][i] ?? null,
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    removeItem: (k) => { map.delete(k); },
  };
}

/** Locks that grant only when the test says so. */
function fakeLocks() {
  const requests = [];
  return {
    requests,
    request(name, cb) {
      const r = { name, cb, held: null };
      requests.push(r);
      return new Promise((resolve) => { r.grant = () => { r.held = Promise.resolve(cb({ name })); resolve(); }; });
    },
  };
}

function fakeSdk(adoptResult = true) {
  const sdk = { claimed: [], adopted: [], result: adoptResult };
  return {
    sdk,
    exports: {
      claimed: (tab) => sdk.claimed.push(tab),
      adopt: (json) => { sdk.adopted.push(json); return sdk.result; },
    },
  };
}

const nextTask = () => new Promise((r) => setTimeout(r, 0));
const settled = (p) => Promise.race([p.then(() => true), nextTask().then(() => false)]);

test('claim: holds the lock until release and says so once it is granted', async () => {
  const locks = fakeLocks();
  const { sdk, exports } = fakeSdk();
  tabs.use(exports, { navigator: { locks } });
  assert.equal(tabs.release(), false, 'no lock held yet');
  tabs.claim('fc:v1:s:tab:T1', 'T1');
  assert.deepEqual(locks.requests.map((r) => r.name), ['fc:v1:s:tab:T1']);
  assert.deepEqual(sdk.claimed, [], 'not before the browser grants it');
  assert.equal(tabs.release(), false, 'requested but not granted: nothing to release');
  locks.requests[0].grant();
  assert.deepEqual(sdk.claimed, ['T1']);
  assert.equal(await settled(locks.requests[0].held), false, 'held while the page lives');
  // The page goes into the back/forward cache: the lock is given back, once.
  assert.equal(tabs.release(), true);
  assert.equal(await settled(locks.requests[0].held), true, 'given back');
  assert.equal(tabs.release(), false, 'released already');
  // Shown again as a new tab: its own lock, held until its own release.
  tabs.claim('fc:v1:s:tab:T9', 'T9');
  locks.requests[1].grant();
  assert.deepEqual(sdk.claimed, ['T1', 'T9']);
  assert.equal(await settled(locks.requests[1].held), false);
  assert.equal(tabs.release(), true);
  assert.equal(await settled(locks.requests[1].held), true);
});

test('release lets go of every lock the page holds, whichever order the grants came in', async () => {
  const locks = fakeLocks();
  const { exports } = fakeSdk();
  tabs.use(exports, { navigator: { locks } });
  // Two tabs of one page (the SDK initialised for another site); the later claim granted first.
  tabs.claim('fc:v1:s:tab:A', 'A');
  tabs.claim('fc:v1:t:tab:B', 'B');
  locks.requests[1].grant();
  locks.requests[0].grant();
  assert.equal(tabs.release(), true);
  assert.equal(await settled(locks.requests[1].held), true, 'B given back');
  assert.equal(await settled(locks.requests[0].held), true, 'A given back');
  assert.equal(tabs.release(), false);
});

test('claim without Web Locks (missing, or a getter that throws): owned in the next task', async () => {
  for (const navigator of [{}, { get locks() { throw new Error('blocked'); } }, { locks: { request() { throw new Error('no'); } } }]) {
    const { sdk, exports } = fakeSdk();
    tabs.use(exports, { navigator });
    assert.equal(tabs.claim('fc:v1:s:tab:T2', 'T2'), true);
    assert.deepEqual(sdk.claimed, []);
    await nextTask();
    assert.deepEqual(sdk.claimed, ['T2']);
    assert.equal(tabs.release(), false, 'no lock to release: the queue is not handed on');
  }
});

test('claim never throws: without Web Locks on a page whose setTimeout throws, it answers false', () => {
  const { sdk, exports } = fakeSdk();
  tabs.use(exports, { navigator: {} });
  const real = globalThis.setTimeout;
  globalThis.setTimeout = () => { throw new Error('timers replaced by the page'); };
  let claimed;
  try {
    claimed = tabs.claim('fc:v1:s:tab:T3', 'T3');
  } finally {
    globalThis.setTimeout = real;
  }
  assert.equal(claimed, false, 'the wasm then owns its queue at once');
  assert.deepEqual(sdk.claimed, []);
});

test('adopt with Web Locks: each other tab of the site once its lock is granted, the key removed only when adopted', async () => {
  const locks = fakeLocks();
  const { sdk, exports } = fakeSdk();
  const localStorage = fakeStorage({
    'fc:v1:s:q:OWN': '1|[own]',
    'fc:v1:s:q:A': '5|[{"a":1}]',
    'fc:v1:s:q:B': '6|[{"b":2}]',
    'fc:v1:other:q:C': '7|[c]',
    'fc:v1:s:state': '{}',
  });
  tabs.use(exports, { navigator: { locks }, localStorage });
  tabs.adopt('fc:v1:s:q:', 'fc:v1:s:q:OWN', 'fc:v1:s:tab:', 1000, 30000);
  assert.deepEqual(locks.requests.map((r) => r.name), ['fc:v1:s:tab:A', 'fc:v1:s:tab:B']);
  tabs.adopt('fc:v1:s:q:', 'fc:v1:s:q:OWN', 'fc:v1:s:tab:', 1000, 30000);
  assert.equal(locks.requests.length, 2, 'one request per tab while waiting');
  assert.deepEqual(sdk.adopted, [], 'nothing taken while the tabs live');

  locks.requests[0].grant();
  assert.deepEqual(sdk.adopted, ['[{"a":1}]'], 'the queue JSON, without its time stamp');
  assert.ok(!localStorage.map.has('fc:v1:s:q:A'), 'adopted: removed');
  sdk.result = false; // e.g. this tab may not persist right now
  locks.requests[1].grant();
  assert.ok(localStorage.map.has('fc:v1:s:q:B'), 'not adopted: kept for a later look');
  assert.ok(localStorage.map.has('fc:v1:s:q:OWN') && localStorage.map.has('fc:v1:other:q:C'));

  tabs.adopt('fc:v1:s:q:', 'fc:v1:s:q:OWN', 'fc:v1:s:tab:', 1000, 30000);
  assert.deepEqual(locks.requests.slice(2).map((r) => r.name), ['fc:v1:s:tab:B'], 'asked again once granted');
});

test('adopt without Web Locks: a queue not written for staleMs (or with an unreadable time) is taken at once', () => {
  const { sdk, exports } = fakeSdk();
  const localStorage = fakeStorage({
    'fc:v1:s:q:OLD': '1000|[old]',
    'fc:v1:s:q:NEW': '40000|[new]',
    'fc:v1:s:q:ODD': 'garbage',
  });
  tabs.use(exports, { navigator: {}, localStorage });
  tabs.adopt('fc:v1:s:q:', 'fc:v1:s:q:OWN', 'fc:v1:s:tab:', 50000, 30000);
  assert.deepEqual(sdk.adopted.sort(), ['[old]', 'garbage']);
  assert.deepEqual([...localStorage.map.keys()], ['fc:v1:s:q:NEW']);
});

test('adopt never throws: blocked storage, a throwing lock request, a trapping SDK', () => {
  const { exports } = fakeSdk();
  tabs.use(exports, { navigator: {}, get localStorage() { throw new Error('SecurityError'); } });
  tabs.adopt('fc:v1:s:q:', 'fc:v1:s:q:OWN', 'fc:v1:s:tab:', 0, 30000);

  const throwing = { request() { throw new Error('no'); } };
  const localStorage = fakeStorage({ 'fc:v1:s:q:X': '1|[x]' });
  tabs.use(exports, { navigator: { locks: throwing }, localStorage });
  tabs.adopt('fc:v1:s:q:', 'fc:v1:s:q:OWN', 'fc:v1:s:tab:', 0, 30000);
  const locks = fakeLocks();
  tabs.use(exports, { navigator: { locks }, localStorage });
  tabs.adopt('fc:v1:s:q:', 'fc:v1:s:q:OWN', 'fc:v1:s:tab:', 0, 30000);
  assert.equal(locks.requests.length, 1, 'a failed request does not leave the tab marked as waited for');

  tabs.use({ adopt() { throw new Error('wasm trap'); } }, { navigator: { locks }, localStorage });
  locks.requests[0].grant();
  assert.ok(localStorage.map.has('fc:v1:s:q:X'), 'kept');
});
