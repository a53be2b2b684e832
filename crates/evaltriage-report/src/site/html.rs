//! The site's HTML: markdown rendered with pulldown-cmark with every piece of raw HTML turned into
//! text (reports quote untrusted model output), links limited to safe schemes, images shown as
//! links (nothing is fetched); and the page frame, with its stylesheet inline and a
//! Content-Security-Policy that forbids loading anything from anywhere.

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

use super::chart::esc;

/// Markdown to HTML, safely: raw HTML is escaped (shown as text), our machine-readable block is
/// left out, `javascript:` and other non-web links become `#`, and images become links.
pub fn markdown_to_html(markdown: &str) -> String {
    markdown_to_html_relinked(markdown, &|_| None)
}

/// [`markdown_to_html`], with each link target that `relink` maps (a digest's link to a report
/// file) pointing where `relink` says instead (that report's page).
pub(crate) fn markdown_to_html_relinked(markdown: &str, relink: &dyn Fn(&str) -> Option<String>) -> String {
    let markdown = evaltriage_core::redact::redact(markdown);
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut in_image = 0usize;
    let events =
        Parser::new_ext(&markdown, options).filter_map(|event| match event {
            Event::Html(html) | Event::InlineHtml(html) => {
                if html.trim_start().starts_with(crate::lines::BLOCK_MARKER) { None } else { Some(Event::Text(html)) }
            }
            Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
                let dest_url = relink(&dest_url).map_or(dest_url, CowStr::from);
                Some(Event::Start(Tag::Link { link_type, dest_url: safe_url(dest_url), title, id }))
            }
            Event::Start(Tag::Image { dest_url, title, id, .. }) => {
                in_image += 1;
                Some(Event::Start(Tag::Link { link_type: LinkType::Inline, dest_url: safe_url(dest_url), title, id }))
            }
            Event::End(TagEnd::Image) => {
                in_image = in_image.saturating_sub(1);
                Some(Event::End(TagEnd::Link))
            }
            other => Some(other),
        });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

/// A link target that cannot run script: web, mail and relative links pass; anything with another
/// scheme (`javascript:`, `data:`, `vbscript:`) becomes `#`.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    let scheme_end = lower.find(':');
    let before_path = lower.find(['/', '?', '#']).unwrap_or(lower.len());
    match scheme_end {
        Some(i) if i < before_path => {
            if ["http", "https", "mailto"].contains(&&lower[..i]) {
                url
            } else {
                CowStr::Borrowed("#")
            }
        }
        _ => url,
    }
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1b1b1b;background:#fafafa}\
header{background:#1d4f91;color:#fff;padding:10px 24px}header a{color:#fff;margin-right:18px;text-decoration:none;font-weight:600}\
main{padding:16px 24px;max-width:1200px}h1{font-size:1.5em}table{border-collapse:collapse;margin:8px 0}\
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eef2f7}\
code{background:#f0f0f0;padding:0 3px;border-radius:3px}pre{background:#f4f4f4;padding:8px;overflow:auto}\
.heatmap td.cell{text-align:center;font:600 11px/1.4 monospace;min-width:30px;color:#fff}\
.heatmap td.pass{background:#3c9a4b}.heatmap td.absent{background:#e5e5e5}.heatmap td.eval{white-space:nowrap}\
.tag{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;color:#fff;margin-left:4px}\
.persistent-tag{background:#c9403a}.flaky-tag{background:#e08a1e}.filters{margin:8px 0}.filters input,.filters select{margin-right:12px}\
.report{background:#fff;border:1px solid #e2e2e2;padding:8px 24px}.muted{color:#666}";

/// A whole page. `depth` is how many folders below the site's root it sits, for relative links.
/// Every page passes through the redaction layer, which finds a secret in its HTML-escaped forms
/// too.
pub fn page(title: &str, body: &str, depth: usize, script: Option<&str>) -> String {
    let up = "../".repeat(depth);
    let script = script.map(|s| format!("<script>{s}</script>")).unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head>\
<body><header><a href=\"{up}index.html\">Models</a><a href=\"{up}reports.html\">Reports</a><a href=\"{up}findings.html\">Findings</a><a href=\"{up}nightly.html\">Nightly</a></header>\
<main>{body}</main>{script}</body></html>\n",
        esc(title)
    );
    evaltriage_core::redact::redact(&html).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_in_a_report_is_text_and_links_cannot_run_script() {
        let md = "# T\n\n<script>alert(1)</script>\n\nInline <img src=x onerror=alert(1)> here.\n\n\
[click](javascript:alert(1)) [ok](https://example.com/a) [rel](other.html)\n\n![pic](https://example.com/p.png)\n\n\
```\n<script>in code</script>\n```\n\n<!-- evaltriage:v1 {\"a\":1} -->\n";
        let html = markdown_to_html(md);
        assert!(!html.contains("<script>") && !html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(html.contains("href=\"#\"") && !html.contains("javascript:"), "{html}");
        assert!(html.contains("href=\"https://example.com/a\"") && html.contains("href=\"other.html\""));
        assert!(html.contains("<a href=\"https://example.com/p.png\">pic</a>"), "{html}");
        assert!(!html.contains("evaltriage:v1"), "{html}");
    }
}
