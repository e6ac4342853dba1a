//! The session's cart as the events describe it.
//!
//! - `add_to_cart` adds each item's quantity to its line, keyed by (id, variant);
//! - `remove_from_cart` subtracts; a line reaching 0 disappears. Removing more than the cart
//!   holds proves the cart existed before this session: the removal is clamped at 0 and the
//!   cart's state becomes `unknown`;
//! - `view_cart` and `begin_checkout` with items are full snapshots: they replace the lines and
//!   make the state `known` again;
//! - `purchase` empties the cart (state `known`).
//!
//! At most [`MAX_LINES`] lines are kept (as many as one event may carry): a line past them is not
//! added and the state becomes `unknown`, so a page adding thousands of distinct products keeps
//! the cart's memory, its persisted state and the session summary bounded.
//!
//! Quantities are never negative; values are kept per currency and never summed across them.

use crate::money;
use crate::wire::Item;

/// Lines the cart keeps: [`crate::event::MAX_ITEMS`], so a full `view_cart` fits.
pub const MAX_LINES: usize = crate::event::MAX_ITEMS;

/// One cart line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CartLine {
    /// Product id.
    pub id: String,
    /// Variant, if any.
    pub variant: Option<String>,
    /// Net quantity (≥ 1).
    pub quantity: i64,
    /// Last known unit price in minor units.
    pub unit_price: Option<i64>,
    /// Currency of `unit_price`.
    pub currency: String,
}

/// The cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    /// `false` once the events show the cart predates the session, or it outgrew [`MAX_LINES`].
    pub known: bool,
    /// Lines with a positive quantity.
    pub lines: Vec<CartLine>,
}

impl Default for Cart {
    fn default() -> Self {
        Cart { known: true, lines: Vec::new() }
    }
}

impl Cart {
    fn line_mut(&mut self, item: &Item) -> Option<&mut CartLine> {
        self.lines.iter_mut().find(|l| l.id == item.id && l.variant == item.variant)
    }

    /// Applies `add_to_cart` items.
    pub fn add(&mut self, items: &[Item], currency: &str) {
        for item in items {
            let full = self.lines.len() >= MAX_LINES;
            match self.line_mut(item) {
                Some(line) => {
                    line.quantity = line.quantity.saturating_add(item.qty);
                    if item.price.is_some() {
                        line.unit_price = item.price;
                        line.currency = currency.to_owned();
                    }
                }
                None if full => self.known = false,
                None => self.lines.push(CartLine {
                    id: item.id.clone(),
                    variant: item.variant.clone(),
                    quantity: item.qty,
                    unit_price: item.price,
                    currency: currency.to_owned(),
                }),
            }
        }
    }

    /// Applies `remove_from_cart` items.
    pub fn remove(&mut self, items: &[Item]) {
        for item in items {
            let held = self.line_mut(item).map_or(0, |l| l.quantity);
            if item.qty > held {
                self.known = false;
            }
            if let Some(line) = self.line_mut(item) {
                line.quantity -= item.qty.min(held);
            }
        }
        self.lines.retain(|l| l.quantity > 0);
    }

    /// Replaces the cart with a full snapshot (`view_cart`, `begin_checkout`).
    pub fn replace(&mut self, items: &[Item], currency: &str) {
        self.lines.clear();
        self.known = true;
        self.add(items, currency);
    }

    /// Empties the cart (after a purchase).
    pub fn clear(&mut self) {
        self.lines.clear();
        self.known = true;
    }

    /// Total units in the cart.
    pub fn count(&self) -> i64 {
        // Plain loops for the sums here and elsewhere in the core: each `map(..).sum()` was
        // its own iterator code in the wasm.
        let mut n = 0;
        for l in &self.lines {
            n += l.quantity;
        }
        n
    }

    /// Value per currency: Σ unit price × quantity over lines with a price.
    pub fn value(&self) -> Vec<(String, i64)> {
        let mut sums = Vec::new();
        for l in &self.lines {
            if let Some(p) = l.unit_price {
                money::add_to(&mut sums, &l.currency, money::times(p, l.quantity));
            }
        }
        sums
    }
}
