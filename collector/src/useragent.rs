//! User-agent reduction: only a browser family and a device class are kept, never the string.

/// Marks of crawlers and page-audit tools that run a page's scripts (matched in lower case):
/// search and SEO crawlers (`Googlebot`, `bingbot`, `AhrefsBot`, `Baiduspider`, Yahoo's `Slurp`),
/// Lighthouse and PageSpeed Insights (`Chrome-Lighthouse`), Search Console's
/// `Google-InspectionTool`, WebPageTest (`PTST/`), GTmetrix and Pingdom.
const BOT_MARKS: [&str; 9] =
    ["bot", "crawler", "spider", "slurp", "lighthouse", "inspectiontool", "ptst/", "gtmetrix", "pingdom"];

/// Browser family and device class derived from a User-Agent header.
///
/// ```
/// use funnelcake_collector::useragent::reduce;
/// let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
/// assert_eq!(reduce(ua), ("Safari", "mobile"));
/// ```
pub fn reduce(ua: &str) -> (&'static str, &'static str) {
    let lower = ua.to_ascii_lowercase();
    let has = |s: &str| lower.contains(s);
    // `Cubot` is a phone maker, not a crawler.
    let family = if BOT_MARKS.iter().any(|m| has(m)) && !has("cubot") {
        "Bot"
    } else if has("edg/") {
        "Edge"
    } else if has("opr/") || has("opera") {
        "Opera"
    } else if has("samsungbrowser") {
        "Samsung Internet"
    } else if has("firefox/") || has("fxios") {
        "Firefox"
    } else if has("chrome/") || has("chromium") || has("crios") {
        "Chrome"
    } else if has("safari/") {
        "Safari"
    } else {
        "Other"
    };
    let device = if family == "Bot" {
        "bot"
    } else if has("ipad") || has("tablet") || (has("android") && !has("mobile")) {
        "tablet"
    } else if has("mobi") || has("iphone") || has("android") {
        "mobile"
    } else {
        "desktop"
    };
    (family, device)
}

#[cfg(test)]
mod tests {
    use super::reduce;

    #[test]
    fn classifies_common_agents() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36", ("Chrome", "desktop")),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0", ("Edge", "desktop")),
            ("Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0", ("Firefox", "mobile")),
            ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", ("Chrome", "tablet")),
            ("Googlebot/2.1 (+http://www.google.com/bot.html)", ("Bot", "bot")),
            // Googlebot renders with Chrome; its UA says so too.
            ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/130.0.6723.69 Safari/537.36", ("Bot", "bot")),
            ("Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse", ("Bot", "bot")),
            ("Mozilla/5.0 (compatible; Google-InspectionTool/1.0;)", ("Bot", "bot")),
            ("Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)", ("Bot", "bot")),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 PTST/241101.150000", ("Bot", "bot")),
            ("Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36", ("Chrome", "mobile")),
            ("", ("Other", "desktop")),
        ];
        for (ua, want) in cases {
            assert_eq!(reduce(ua), want, "{ua}");
        }
    }
}
