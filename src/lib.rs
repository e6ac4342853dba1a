//! funnelcake: the browser SDK, a thin shell around [`funnelcake_core`].
//!
//! The shell owns everything that touches the browser (clock, randomness, storage, transport,
//! timers, page lifecycle) and nothing that decides policy; the page context (URL, referrer,
//! title) is read by the loader and arrives with each call. Every export is wrapped so that a
//! failure is swallowed (and logged in debug mode) rather than thrown into the host page.
//!
//! Modules: [`env`](mod@env) (clock, randomness, the page's strings, debug messages), [`storage`]
//! (localStorage with memory fallback; `js/env.js` makes those browser calls), [`outbox`] (the
//! per-tab persisted queue and the rules for handing it between tabs; `js/tabs.js` makes the Web
//! Locks calls), [`transport`] (fetch/keepalive), [`scheduler`] (when the flush timer is due;
//! `js/net.js` runs it), [`lifecycle`] (what visibility, page hide and other tabs' writes mean; the
//! loader listens), [`api`] (the JS-facing functions). Config, properties and options arrive as
//! one string in the tape form `js/env.js` writes, read by the core (`json::read_tape`).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![deny(missing_docs)]

/// The global allocator: power-of-two size classes (`alloc/`), about 3 KB gzip smaller than the
/// standard library's dlmalloc and 446 bytes smaller than talc (BENCHMARKS.md).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: funnelcake_alloc::WasmAllocator = funnelcake_alloc::WasmAllocator::new();

pub mod api;
pub mod env;
pub mod lifecycle;
pub mod outbox;
pub mod scheduler;
pub mod storage;
pub mod transport;
