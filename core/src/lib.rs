//! funnelcake-core: the pure heart of the funnelcake SDK.
//!
//! Events, sessions, the wire format, batching and retry policy, with no browser dependency:
//! time, randomness and I/O are passed in by the caller (the wasm shell in the browser, the
//! collector on the server, plain tests on the host). "The core decides, the shell acts."
//!
//! ```
//! use funnelcake_core::{config::{Config, RawConfig}, id::SplitMix64, session::SessionState};
//! use funnelcake_core::tracker::{PageContext, Tracker};
//! let (cfg, _) = Config::resolve(RawConfig { site: Some("shop-1".into()), ..Default::default() }).unwrap();
//! let mut rng = SplitMix64(42);
//! let mut tracker = Tracker::new(cfg, SessionState::new(&mut rng));
//! tracker.track("page_view", vec![], &PageContext { url: "/".into(), ..Default::default() }, 0, &mut rng).unwrap();
//! let batch = tracker.take_batch(0, true).unwrap();
//! assert!(batch.body.starts_with(r#"{"v":1,"site":"shop-1""#));
//! ```
#![deny(missing_docs)]
// Bounds of floats are compared by hand: `RangeInclusive::<f64>::contains` is a function of its
// own in the wasm (BENCHMARKS.md, size steps).
#![allow(clippy::manual_range_contains)]

pub mod cart;
pub mod config;
pub mod currency;
pub mod delivery;
pub mod event;
pub mod experiment;
pub mod funnel;
pub mod id;
pub mod json;
pub mod metrics;
pub mod money;
pub mod queue;
pub mod retry;
pub mod session;
pub mod source;
pub mod text;
pub mod tracker;
pub mod wire;
