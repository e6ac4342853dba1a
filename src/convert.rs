//! JS values → core JSON values, defensively: bounded depth and size (which also stops cyclic
//! objects), non-finite numbers become `null`, functions and symbols are skipped, and no
//! getter exception escapes.

use funnelcake_core::json::Value;
use wasm_bindgen::{JsCast, JsValue};

/// Deepest nesting kept; deeper values are cut to `null`.
pub const MAX_DEPTH: usize = 8;
/// Most members or elements kept per object or array.
pub const MAX_MEMBERS: u32 = 100;

/// Converts any JS value; returns `None` for `undefined`, functions and symbols.
pub fn to_value(v: &JsValue, depth: usize) -> Option<Value> {
    if v.is_undefined() || v.is_function() || v.is_symbol() {
        return None;
    }
    if v.is_null() {
        return Some(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Some(Value::Bool(b));
    }
    if let Some(n) = v.as_f64() {
        return Some(if n.is_finite() { Value::Num(n) } else { Value::Null });
    }
    if let Some(s) = v.as_string() {
        return Some(Value::Str(s));
    }
    if depth >= MAX_DEPTH {
        return Some(Value::Null);
    }
    if js_sys::Array::is_array(v) {
        let arr: &js_sys::Array = v.unchecked_ref();
        let n = arr.length().min(MAX_MEMBERS);
        let mut list = Vec::with_capacity(n as usize);
        for i in 0..n {
            list.push(to_value(&arr.get(i), depth + 1).unwrap_or(Value::Null));
        }
        return Some(Value::Arr(list));
    }
    if let Some(obj) = v.dyn_ref::<js_sys::Object>() {
        return Some(Value::Obj(object_members(obj, depth)));
    }
    None
}

/// The members of a plain object (own enumerable string keys), converted.
pub fn object_members(obj: &js_sys::Object, depth: usize) -> Vec<(String, Value)> {
    let keys = js_sys::Object::keys(obj);
    let n = keys.length().min(MAX_MEMBERS);
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let key = keys.get(i);
        let Some(name) = key.as_string() else { continue };
        // A getter may throw: skip that member.
        let Ok(v) = js_sys::Reflect::get(obj, &key) else { continue };
        if let Some(v) = to_value(&v, depth + 1) {
            out.push((name, v));
        }
    }
    out
}

/// Properties argument → object members; anything but a plain object gives none.
pub fn props(v: &JsValue) -> Vec<(String, Value)> {
    match v.dyn_ref::<js_sys::Object>() {
        Some(obj) if !v.is_function() && !js_sys::Array::is_array(v) => object_members(obj, 0),
        _ => Vec::new(),
    }
}
