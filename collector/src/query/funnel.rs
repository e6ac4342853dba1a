//! Funnels: the query, its answer, and the matching both stores share (a session completes
//! the steps in order, others allowed between; `StepMatcher` is the SDK's greedy rule).

use serde::Serialize;

use super::*;

/// What a funnel query asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FunnelQuery {
    /// Event names of the steps; empty for the default funnel.
    pub steps: Vec<String>,
    /// Only sessions in this experiment variation: (experiment key, variation index).
    pub variant: Option<(String, i64)>,
}

/// One funnel step's counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStepCount {
    /// Step (event) name.
    pub name: String,
    /// Closed funnel: sessions that completed this step and every earlier one, in order.
    pub closed: i64,
    /// Open funnel: sessions that reached this step, in any order.
    pub open: i64,
    /// Closed-funnel sessions lost since the previous step.
    pub drop_off: i64,
    /// `closed / previous closed` (1 for the first step; null after an empty step).
    pub rate_from_previous: Option<f64>,
    /// `closed / first step's closed`.
    pub rate_from_start: Option<f64>,
}

/// A funnel result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    /// Sessions considered (started in the range, in the variant if any).
    pub sessions: i64,
    /// The steps.
    pub steps: Vec<FunnelStepCount>,
}

/// A funnel from each step's closed and open counts.
pub(crate) fn finish(names: Vec<String>, closed: Vec<i64>, open: Vec<i64>, sessions: i64) -> Funnel {
    let first = closed.first().copied().unwrap_or(0);
    let steps = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let prev = if i == 0 { closed[0] } else { closed[i - 1] };
            FunnelStepCount {
                name,
                closed: closed[i],
                open: open[i],
                drop_off: if i == 0 { 0 } else { prev - closed[i] },
                rate_from_previous: ratio(closed[i], prev),
                rate_from_start: ratio(closed[i], first),
            }
        })
        .collect();
    Funnel { sessions, steps }
}

/// Counts sessions through ad-hoc funnel steps with the SDK's rule: the closed funnel matches
/// steps greedily in order (other events allowed between them), the open one in any order.
pub(crate) struct StepMatcher<'a> {
    steps: &'a [String],
    next: usize,
    reached: Vec<bool>,
    closed: Vec<i64>,
    open: Vec<i64>,
}

impl<'a> StepMatcher<'a> {
    pub fn new(steps: &'a [String]) -> Self {
        let n = steps.len();
        StepMatcher { steps, next: 0, reached: vec![false; n], closed: vec![0; n], open: vec![0; n] }
    }

    /// One event of the current session, in time order.
    pub fn observe(&mut self, name: &[u8]) {
        for (i, s) in self.steps.iter().enumerate() {
            if s.as_bytes() == name {
                self.reached[i] = true;
            }
        }
        if self.steps.get(self.next).is_some_and(|s| s.as_bytes() == name) {
            self.next += 1;
        }
    }

    /// The funnel of the sessions seen (`names` as asked), out of `sessions` considered.
    pub fn finish(self, names: Vec<String>, sessions: i64) -> Funnel {
        finish(names, self.closed, self.open, sessions)
    }

    /// Counts the current session and starts the next.
    pub fn end_session(&mut self) {
        for c in &mut self.closed[..self.next] {
            *c += 1;
        }
        for (o, r) in self.open.iter_mut().zip(&mut self.reached) {
            *o += i64::from(*r);
            *r = false;
        }
        self.next = 0;
    }
}
