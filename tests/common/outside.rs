//! Whether a page would ask anything of anyone when opened. Shared by the integration
//! tests (through `common`) and the HTML renderer's unit tests (`#[path]` from
//! src/report/html/tests.rs), so both judge a page by the same reading.

/// Every `src=`, `href=`, `srcset=`, `url(` and `@import` in `html` that points anywhere
/// but into the page itself (`#...`) or at inline `data:`.
pub fn outside_references(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    // Markup only: text from outside is escaped (`&lt;img src=x&gt;`), so every `<` in
    // the page starts a tag, and a tag runs to the next `>`. Style sheets are markup too.
    let mut markup: Vec<(usize, &str)> = Vec::new();
    let mut at = 0;
    while let Some(open) = lower[at..].find('<').map(|i| at + i) {
        let close = lower[open..]
            .find('>')
            .map_or(lower.len(), |i| open + i + 1);
        markup.push((open, &lower[open..close]));
        if lower[open..close].starts_with("<style") {
            let end = lower[close..]
                .find("</style")
                .map_or(lower.len(), |i| close + i);
            markup.push((close, &lower[close..end]));
            at = end;
        } else {
            at = close;
        }
    }
    let mut bad = Vec::new();
    for (offset, chunk) in markup {
        for needle in ["src=", "href=", "srcset=", "url(", "@import"] {
            for (i, _) in chunk.match_indices(needle) {
                let rest = chunk[i + needle.len()..].trim_start_matches(['"', '\'', ' ']);
                if !(rest.starts_with('#') || rest.starts_with("data:")) {
                    let start = offset + i;
                    let end = html.len().min(start + 80);
                    bad.push(String::from_utf8_lossy(&html.as_bytes()[start..end]).into_owned());
                }
            }
        }
    }
    bad
}
