//! The HTTP side: one request per statement, query parameters in ClickHouse's text form and
//! the SQL text helpers (UTC days), rows read back as JSON, errors with their causes, TLS for
//! `https://`.

use super::*;

impl ClickHouseStore {
    /// Sends `sql` (with the query parameters) and returns the answer's text. With `data`, `sql`
    /// goes in the address and `data` is the body (an `INSERT ... FORMAT`'s rows).
    pub(super) async fn request(&self, sql: &str, params: Params, data: Option<String>) -> Result<String, StoreError> {
        let mut url = format!("{}/?", self.base);
        let body = match data {
            Some(rows) => {
                url.push_str("query=");
                url.push_str(&percent_encode(sql));
                url.push('&');
                rows
            }
            None => sql.to_owned(),
        };
        for (name, value) in &params {
            url.push_str("param_");
            url.push_str(name);
            url.push('=');
            url.push_str(&percent_encode(value));
            url.push('&');
        }
        url.pop();
        let mut req = hyper::Request::post(url);
        if let Some(user) = &self.user {
            req = req.header("X-ClickHouse-User", user);
        }
        if let Some(password) = &self.password {
            req = req.header("X-ClickHouse-Key", password);
        }
        let req = req.body(Full::new(Bytes::from(body))).map_err(|e| StoreError(format!("ClickHouse request: {e}")))?;
        let answer = async {
            let res = self.client.request(req).await.map_err(|e| StoreError(format!("ClickHouse: {}", causes(&e))))?;
            let status = res.status();
            let bytes =
                res.into_body().collect().await.map_err(|e| StoreError(format!("ClickHouse answer: {e}")))?.to_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if status.is_success() {
                Ok(text)
            } else {
                Err(StoreError(format!("ClickHouse answered {status}: {}", text.trim())))
            }
        };
        tokio::time::timeout(TIMEOUT, answer)
            .await
            .map_err(|_| StoreError(format!("ClickHouse did not answer within {} s", TIMEOUT.as_secs())))?
    }

    /// Runs a statement that returns nothing.
    pub(super) async fn exec(&self, sql: &str, params: Params) -> Result<(), StoreError> {
        self.request(sql, params, None).await.map(drop)
    }

    /// Inserts rows (JSON objects) into `table`, waiting until they are written.
    pub(super) async fn insert_rows(&self, table: &str, rows: &[Json]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut data = String::new();
        for row in rows {
            data.push_str(&row.to_string());
            data.push('\n');
        }
        let sql = format!(
            "INSERT INTO {}.{table} SETTINGS async_insert = 1, wait_for_async_insert = 1 FORMAT JSONEachRow",
            self.db
        );
        self.request(&sql, vec![], Some(data)).await.map(drop)
    }

    /// Runs a query and returns its rows, each a JSON array of its columns.
    pub(super) async fn rows(&self, sql: &str, params: Params) -> Result<Vec<Vec<Json>>, StoreError> {
        let text = self.request(&format!("{sql}\nFORMAT JSONCompactEachRow"), params, None).await?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match serde_json::from_str(l) {
                Ok(Json::Array(row)) => Ok(row),
                _ => Err(StoreError(format!("ClickHouse answered a row that is not a JSON array: {l}"))),
            })
            .collect()
    }
}

/// An error with its causes (hyper's own says only "client error (Connect)"; the cause says
/// which: refused, a certificate no root vouches for, …).
pub(super) fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

/// TLS for `https://`: the Mozilla roots, and those of `ca_file` if given.
pub(super) fn tls_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, StoreError> {
    use rustls_pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let named = |e: &dyn std::fmt::Display| StoreError(format!("ClickHouse CA file {}: {e}", path.display()));
        let pem = std::fs::read(path).map_err(|e| named(&e))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.map_err(|e| named(&e))?).map_err(|e| named(&e))?;
            added += 1;
        }
        if added == 0 {
            return Err(named(&"no PEM certificate in it"));
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The UTC day (`Date`) of an epoch-ms expression.
pub(super) fn utc_date(ms: &str) -> String {
    format!("toDate(toDateTime(intDiv({ms}, 1000), 'UTC'))")
}

/// The UTC day of an epoch-ms expression as `YYYY-MM-DD` text.
pub(super) fn utc_day(ms: &str) -> String {
    format!("toString({})", utc_date(ms))
}

/// A `String` parameter's value in ClickHouse's escaped text form.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out
}

/// An `Array(String)` parameter's value: `['a','b']`, each quoted and escaped.
pub(super) fn array(items: &[&str]) -> String {
    let mut out = String::from("[");
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('\'');
        out.push_str(&escape(s).replace('\'', "\\'"));
        out.push('\'');
    }
    out.push(']');
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(super) fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.extend(['%', HEX[usize::from(b >> 4)] as char, HEX[usize::from(b & 15)] as char]);
        }
    }
    out
}

/// Column `i` of a row as an integer (ClickHouse may quote 64-bit integers); 0 if absent.
pub(super) fn int(row: &[Json], i: usize) -> i64 {
    match row.get(i) {
        Some(Json::Number(n)) => n.as_i64().or_else(|| n.as_u64().map(|u| u as i64)).unwrap_or(0),
        Some(Json::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// Column `i` of a row as text; empty if absent.
pub(super) fn text(row: &[Json], i: usize) -> String {
    match row.get(i) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn parameters_are_escaped_in_clickhouse_text_form() {
        assert_eq!(escape("a\\b\tc\nd"), "a\\\\b\\tc\\nd");
        assert_eq!(array(&["x", "it's"]), "['x','it\\'s']");
        assert_eq!(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    pub(super) fn integers_are_read_quoted_or_not() {
        let row = vec![json!(5), json!("-7"), json!(null)];
        assert_eq!((int(&row, 0), int(&row, 1), int(&row, 2), int(&row, 9)), (5, -7, 0, 0));
        assert_eq!((text(&row, 1), text(&row, 0), text(&row, 2)), ("-7".to_owned(), "5".to_owned(), String::new()));
    }
}
