//! Funnels: definitions and per-session progress.
//!
//! A funnel is an ordered list of steps; a step is an event name plus optional property
//! conditions. Per session:
//!
//! - **furthest step**: the longest prefix of steps completed *in order* (other events may come
//!   between steps). Matching is greedy: an event completes the next unreached step if it matches
//!   it, which finds the longest ordered prefix;
//! - **first timestamps**: the first time each step's event happened, in any order, so the
//!   collector can rebuild open or any-order funnels;
//! - **converted**: the last step happened (in any order). A conversion that skipped steps (a
//!   purchase without `begin_checkout`) still converts, and is flagged `skipped_steps`; its
//!   furthest step is then the last step;
//! - **drop-off step**: for a session that did not convert, the first step it did not complete
//!   in order (where it left the funnel); `null` when converted.

use crate::json::Value;
use crate::wire::Event;

/// One funnel step.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelStep {
    /// Label shown for the step (defaults to the event name).
    pub name: String,
    /// Event name that completes the step.
    pub event: String,
    /// Property conditions, all of which must hold. A condition on `url`, `title`, `cur` or
    /// `order` tests the event's own field. A string condition ending in `*` is a prefix match.
    pub conditions: Vec<(String, Value)>,
}

/// A named, ordered funnel.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelDef {
    /// Funnel name.
    pub name: String,
    /// Steps in order.
    pub steps: Vec<FunnelStep>,
}

/// The default funnel's events, in order.
pub const DEFAULT_STEPS: [&str; 7] =
    ["page_view", "view_item", "add_to_cart", "begin_checkout", "add_shipping_info", "add_payment_info", "purchase"];

impl FunnelDef {
    /// `page_view → view_item → add_to_cart → begin_checkout → add_shipping_info →
    /// add_payment_info → purchase`, named `default`.
    pub fn default_funnel() -> FunnelDef {
        let mut steps = Vec::with_capacity(DEFAULT_STEPS.len());
        for e in DEFAULT_STEPS {
            steps.push(FunnelStep { name: e.into(), event: e.into(), conditions: Vec::new() });
        }
        FunnelDef { name: "default".into(), steps }
    }

    /// Reads a custom funnel: `{name, steps: ["event", {event, name?, where?: {prop: value}}]}`,
    /// with a name and 1 to 20 steps; `None` otherwise (the config names the funnel as
    /// unreadable in debug mode: a reason per case was text the wasm carried for nothing). Step
    /// conditions are moved out of `v` (left `null` there), not copied.
    ///
    /// ```
    /// use funnelcake_core::{funnel::FunnelDef, json::parse};
    /// let mut v = parse(r#"{"name":"shoes","steps":["view_item",{"event":"add_to_cart","where":{"category":"Shoes"}}]}"#).unwrap();
    /// let f = FunnelDef::from_value(&mut v).unwrap();
    /// assert_eq!(f.steps[1].conditions.len(), 1);
    /// ```
    pub fn from_value(v: &mut Value) -> Option<FunnelDef> {
        let name = v.text("name").filter(|s| !s.is_empty())?;
        let steps = match v.get_mut("steps") {
            Some(Value::Arr(steps)) if !steps.is_empty() && steps.len() <= 20 => steps,
            _ => return None,
        };
        let mut list = Vec::with_capacity(steps.len());
        for s in steps {
            list.push(match s {
                Value::Str(e) => FunnelStep { name: e.clone(), event: e.clone(), conditions: Vec::new() },
                Value::Obj(_) => {
                    let event = s.get("event").and_then(Value::as_str)?;
                    let name = s.get("name").and_then(Value::as_str).unwrap_or(event).to_owned();
                    let event = crate::event::canonical_name(event).to_owned();
                    let conditions = match s.take("where") {
                        Some(Value::Obj(members)) => members,
                        _ => Vec::new(),
                    };
                    FunnelStep { name, event, conditions }
                }
                _ => return None,
            });
        }
        Some(FunnelDef { name, steps: list })
    }
}

/// `want` holds for the text `got`: equal, or a prefix ending in `*`.
fn text_holds(want: &Value, got: &str) -> bool {
    match want {
        // A `&str` suffix, not a `char`: the char pattern encodes it to UTF-8 at run time.
        Value::Str(w) => match w.strip_suffix("*") {
            Some(prefix) => got.starts_with(prefix),
            None => got == w,
        },
        _ => false,
    }
}

/// Whether condition `key: want` holds for `e`: the event's own field, else its property
/// `key`, else (for `category`, `item_id`, `brand`) any item's. Read in place, without copies.
fn condition_holds(e: &Event, key: &str, want: &Value) -> bool {
    let own = match key {
        "url" => Some(e.url.as_str()),
        "title" => e.title.as_deref(),
        "cur" => e.cur.as_deref(),
        "order" => e.order.as_deref(),
        _ => None,
    };
    if let Some(got) = own {
        return text_holds(want, got);
    }
    if let Some((_, got)) = e.props.iter().find(|(k, _)| k == key) {
        return match got {
            Value::Str(g) => text_holds(want, g),
            // Compared as JSON text: the same as `==` on values (numbers are written one way
            // each), without the derived deep equality's code in the wasm.
            g => want.to_json() == g.to_json(),
        };
    }
    // Item-level conditions: `category`, `item_id`, `brand` hold if any item matches.
    e.items.iter().any(|i| {
        let got = match key {
            "category" => i.cat.first().map(String::as_str),
            "item_id" => Some(i.id.as_str()),
            "brand" => i.brand.as_deref(),
            _ => None,
        };
        got.is_some_and(|g| text_holds(want, g))
    })
}

impl FunnelStep {
    /// `true` if `e` completes this step.
    pub fn matches(&self, e: &Event) -> bool {
        e.t == self.event && self.conditions.iter().all(|(k, v)| condition_holds(e, k, v))
    }
}

/// One session's progress through one funnel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunnelProgress {
    /// First time each step's event happened (any order), epoch ms.
    pub reached_at: Vec<Option<i64>>,
    /// Steps completed in order (the length of the ordered prefix).
    pub in_order: usize,
}

impl FunnelProgress {
    /// Empty progress for a funnel of `steps` steps.
    pub fn new(steps: usize) -> FunnelProgress {
        let mut p = FunnelProgress::default();
        p.fit(steps);
        p
    }

    /// `reached_at` made `steps` long (`Vec::resize` by hand: its `extend_with` was code for
    /// this one list).
    fn fit(&mut self, steps: usize) {
        self.reached_at.truncate(steps);
        while self.reached_at.len() < steps {
            self.reached_at.push(None);
        }
    }

    /// Updates with one event. Returns `true` if anything changed.
    pub fn observe(&mut self, def: &FunnelDef, e: &Event) -> bool {
        self.fit(def.steps.len());
        let mut changed = false;
        for (i, step) in def.steps.iter().enumerate() {
            if self.reached_at[i].is_none() && step.matches(e) {
                self.reached_at[i] = Some(e.ts);
                changed = true;
            }
        }
        if let Some(next) = def.steps.get(self.in_order) {
            if next.matches(e) {
                self.in_order += 1;
                changed = true;
            }
        }
        changed
    }

    /// `true` when the last step happened, in any order.
    pub fn converted(&self) -> bool {
        self.reached_at.last().is_some_and(Option::is_some)
    }

    /// `true` when the session converted without completing every step in order.
    pub fn skipped_steps(&self) -> bool {
        self.converted() && self.in_order < self.reached_at.len()
    }

    /// Index of the furthest step: the last step if converted, else the end of the ordered prefix.
    pub fn furthest_index(&self) -> Option<usize> {
        if self.converted() {
            Some(self.reached_at.len() - 1)
        } else {
            self.in_order.checked_sub(1)
        }
    }

    /// Index of the step where a non-converted session dropped off (first step not completed
    /// in order).
    pub fn drop_off_index(&self) -> Option<usize> {
        if self.converted() || self.in_order >= self.reached_at.len() {
            None
        } else {
            Some(self.in_order)
        }
    }
}
