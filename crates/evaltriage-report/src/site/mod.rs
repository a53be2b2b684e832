//! The static review site (`evaltriage site`): pure functions from the catalog, its trends and the
//! nightly digests to HTML pages — an index of models (latest pass rate, sparkline), a page per
//! model (pass-rate chart, label bars, an eval × run heat map marking persistent and flaky
//! failures), every report rendered, a filterable list of reports, the findings with their state
//! and history, and the digests. Pages are self-contained (inline style, a few lines of inline
//! script, inline SVG) and load nothing.

mod chart;
mod html;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chart::{esc, label_abbrev, label_colour};
pub use chart::{label_bars, pass_rate_chart, sparkline};
pub use html::{markdown_to_html, page};

use crate::across::findings::{Finding, FindingKind, findings};
use crate::across::{AcrossOptions, records_of};
use crate::read::catalog::CatalogReport;
use crate::review::trend::{ModelTrend, Outcome, Trend, TrendOptions, counted_label, trend};

/// One file of the site: its path below the site's folder (`/`-separated) and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePage {
    pub path: String,
    pub html: String,
}

/// A nightly digest (`<reports-dir>/nightly/<YYYY-MM-DD>.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NightlyDigest {
    /// The file's stem, normally its date.
    pub name: String,
    pub markdown: String,
}

/// A file-name-safe form: letters, digits, `.`, `-` and `_` kept, `/` as `__`, the rest `_`.
fn slug(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') => c.to_string(),
            '.' => ".".to_owned(),
            '/' => "__".to_owned(),
            _ => "_".to_owned(),
        })
        .collect();
    let out = out.trim_start_matches('.').to_owned();
    if out.is_empty() { "_".to_owned() } else { out }
}

/// Where a report's page is: `r/<its path below the reports folder>.html`, each part made safe.
pub fn report_page_path(r: &CatalogReport) -> String {
    report_page_path_of(&r.relative)
}

/// The site page of the report at `relative` (its path below the reports folder, `/`-separated).
pub fn report_page_path_of(relative: &str) -> String {
    let parts: Vec<String> = relative.split('/').map(slug).collect();
    let joined = parts.join("/");
    format!("r/{}.html", joined.strip_suffix(".md").unwrap_or(&joined))
}

/// A nightly digest's link to a report file (`../<provider>/<model>/<file>.md`, relative to the
/// digests' folder, encoded as the digest writes it) as a link from a digest page to that
/// report's page in the site; `None` for any other link.
fn digest_link_to_page(url: &str, reports: &[CatalogReport]) -> Option<String> {
    let relative = url.strip_prefix("../")?.strip_suffix(".md")?;
    let relative =
        format!("{relative}.md").replace("%20", " ").replace("%28", "(").replace("%29", ")").replace("%3C", "<");
    if relative.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
        return None;
    }
    let page = reports
        .iter()
        .find(|r| r.relative == relative)
        .map_or_else(|| report_page_path_of(&relative), report_page_path);
    Some(format!("../{page}"))
}

fn model_page_path(m: &ModelTrend) -> String {
    format!("models/{}.html", slug(&crate::read::find::normalise(&m.model)))
}

fn depth(path: &str) -> usize {
    path.matches('/').count()
}

fn rate_text(p: Option<(u32, u32)>) -> String {
    match p {
        Some((a, t)) if t > 0 => format!("{a}/{t} ({:.1}%)", f64::from(a) * 100.0 / f64::from(t)),
        Some((a, t)) => format!("{a}/{t}"),
        None => "—".to_owned(),
    }
}

/// The page of one report: the markdown rendered, raw HTML shown as text.
pub fn report_page(r: &CatalogReport, markdown: &str) -> SitePage {
    let path = report_page_path(r);
    let up = "../".repeat(depth(&path));
    let origin = if r.report.ours { "written by evaltriage" } else { "hand-written" };
    let body = format!(
        "<p class=\"muted\">{} · run of {} · {origin} · <code>{}</code> · <a href=\"{up}reports.html\">all reports</a></p><article class=\"report\">{}</article>",
        esc(&r.model),
        r.report.run_date().format("%Y-%m-%d"),
        esc(&r.relative),
        markdown_to_html(markdown)
    );
    let title = format!("{} {} — {}", r.report.run_id_prefix, r.report.date.format("%Y-%m-%d"), r.model);
    SitePage { html: page(&title, &body, depth(&path), None), path }
}

/// A fingerprint of how report pages are rendered (the page frame, the markdown renderer, the
/// report header): a hash of a sample report's page. A site folder written with another
/// fingerprint has its report pages rendered again, whatever their dates.
pub fn template_fingerprint() -> String {
    use std::hash::{Hash as _, Hasher as _};
    let sample = CatalogReport {
        report: crate::read::prior_report::PriorReport {
            path: "ab12cd34_2026-01-02.md".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap_or_default(),
            run_id_prefix: "ab12cd34".to_owned(),
            run_id: None,
            run_ids: Vec::new(),
            ran_at: None,
            passed_evals: None,
            pass_rate: Some((1, 2)),
            experiment: Some("default".to_owned()),
            scope: None,
            entries: Vec::new(),
            actions_taken: Vec::new(),
            ours: true,
            verdicts: Vec::new(),
            notes: Vec::new(),
        },
        model: "p/m".to_owned(),
        relative: "p/m/ab12cd34_2026-01-02.md".to_owned(),
    };
    let md = "# T\n\n- **a**: `b`\n\n| x | y |\n| - | - |\n| 1 | 2 |\n\n```\nc\n```\n\n<i>h</i> [l](javascript:x) ![i](p.png)\n";
    let mut hasher = std::hash::DefaultHasher::new();
    report_page(&sample, md).html.hash(&mut hasher);
    format!("{}-{:016x}", env!("CARGO_PKG_VERSION"), hasher.finish())
}

/// How much of each model's history the site shows, and the thresholds of its findings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteOptions {
    pub runs: usize,
    pub across: AcrossOptions,
}

/// Every page but the reports' own: the index, one page per model, the list of reports, the
/// findings, the nightly digests and their index.
pub fn site_pages(reports: &[CatalogReport], digests: &[NightlyDigest], options: SiteOptions) -> Vec<SitePage> {
    let trend = trend(reports, TrendOptions { window: options.runs.max(1), persistent_min: 3 });
    let all_findings = findings(&records_of(reports), &options.across);
    let mut pages = vec![index_page(&trend, &all_findings), reports_page(reports), findings_page(&all_findings)];
    for m in &trend.models {
        pages.push(model_page(m, reports, &trend));
    }
    pages.push(nightly_index(digests));
    for d in digests {
        let path = format!("nightly/{}.html", slug(&d.name));
        let relink = |url: &str| digest_link_to_page(url, reports);
        let body = format!(
            "<h1>Nightly digest {}</h1><article class=\"report\">{}</article>",
            esc(&d.name),
            html::markdown_to_html_relinked(&d.markdown, &relink)
        );
        pages.push(SitePage { html: page(&format!("Nightly {}", d.name), &body, 1, None), path });
    }
    pages
}

/// Filters the rows of a page's table by model (a substring) and label; `#model=...&label=...` in
/// the address sets both, so a filtered view can be linked to.
const FILTER_SCRIPT: &str = "\
(function(){var m=document.getElementById('model-filter'),l=document.getElementById('label-filter');\
function apply(){var q=(m&&m.value||'').toLowerCase(),lab=l?l.value:'';\
document.querySelectorAll('tr.filterable').forEach(function(r){\
var ok=(!q||r.dataset.model.toLowerCase().indexOf(q)>=0)&&(!lab||(' '+r.dataset.labels+' ').indexOf(' '+lab+' ')>=0);\
r.style.display=ok?'':'none';});}\
if(m)m.addEventListener('input',apply);if(l)l.addEventListener('change',apply);\
var h=new URLSearchParams(location.hash.slice(1));if(m&&h.get('model'))m.value=h.get('model');\
if(l&&h.get('label'))l.value=h.get('label');apply();})();";

fn index_page(trend: &Trend, findings: &[Finding]) -> SitePage {
    let open = findings.iter().filter(|f| f.state.is_open()).count();
    let mut body = format!(
        "<h1>Models</h1><p id=\"findings-link\"><a href=\"findings.html\">{open} open findings</a> ({} in all: failures that recur, flaky evals, grader suspects)</p><div class=\"filters\"><label>Model <input id=\"model-filter\" type=\"search\" placeholder=\"filter\"></label></div>",
        findings.len()
    );
    body.push_str("<table id=\"models\"><thead><tr><th>Model</th><th>Latest run</th><th>Pass rate</th><th>Trend</th><th>Runs</th><th>Latest labels</th><th>Persistent</th><th>Flaky</th></tr></thead><tbody>");
    for m in &trend.models {
        let Some(latest) = m.latest() else { continue };
        let labels: Vec<String> = latest.labels.iter().map(|(l, n)| format!("{} {n}", esc(l))).collect();
        let _ = write!(
            body,
            "<tr class=\"filterable model-row\" data-model=\"{}\" data-labels=\"{}\"><td><a href=\"{}\">{}</a></td><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.model),
            esc(&latest.labels.keys().cloned().collect::<Vec<_>>().join(" ")),
            model_page_path(m),
            esc(&m.model),
            latest.date.format("%Y-%m-%d"),
            esc(&latest.run_id_prefix),
            rate_text(latest.pass_rate),
            sparkline(&m.points),
            m.points.len(),
            labels.join(", "),
            m.persistent().count(),
            m.flaky().count(),
        );
    }
    body.push_str("</tbody></table>");
    if trend.models.len() > 1 {
        body.push_str("<h2>Failing in the latest run of every model</h2>");
        if trend.failing_everywhere.is_empty() {
            body.push_str("<p>None.</p>");
        } else {
            body.push_str(
                "<p class=\"muted\">Likely a problem of the eval, not of the models.</p><ul id=\"failing-everywhere\">",
            );
            for e in &trend.failing_everywhere {
                let _ = write!(body, "<li><code>{}</code></li>", esc(e));
            }
            body.push_str("</ul>");
        }
    }
    if trend.models.is_empty() {
        body.push_str("<p>No full reports yet.</p>");
    }
    SitePage { path: "index.html".to_owned(), html: page("evaltriage — models", &body, 0, Some(FILTER_SCRIPT)) }
}

fn report_labels(r: &CatalogReport) -> BTreeSet<String> {
    r.report.entries.iter().map(counted_label).collect()
}

fn reports_page(reports: &[CatalogReport]) -> SitePage {
    let all_labels: BTreeSet<String> = reports.iter().flat_map(report_labels).collect();
    let mut body = String::from(
        "<h1>Reports</h1><div class=\"filters\"><label>Model <input id=\"model-filter\" type=\"search\" placeholder=\"filter\"></label><label>Label <select id=\"label-filter\"><option value=\"\">any</option>",
    );
    for l in &all_labels {
        let _ = write!(body, "<option value=\"{}\">{}</option>", esc(l), esc(l));
    }
    body.push_str("</select></label></div><table id=\"reports\"><thead><tr><th>Run date</th><th>Model</th><th>Run</th><th>Experiment</th><th>Pass rate</th><th>Labels</th><th></th></tr></thead><tbody>");
    for r in reports {
        let labels = report_labels(r);
        let mut counts = std::collections::BTreeMap::new();
        for e in &r.report.entries {
            *counts.entry(counted_label(e)).or_insert(0usize) += 1;
        }
        let shown: Vec<String> = counts.iter().map(|(l, n)| format!("{} {n}", esc(l))).collect();
        let mut notes = Vec::new();
        if r.has_human_verdicts() {
            notes.push("reviewed");
        }
        if !r.report.ours {
            notes.push("hand-written");
        }
        if r.report.scope.is_some() {
            notes.push("scoped");
        }
        let _ = write!(
            body,
            "<tr class=\"filterable\" data-model=\"{}\" data-labels=\"{}\"><td>{}</td><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
            esc(&r.model),
            esc(&labels.into_iter().collect::<Vec<_>>().join(" ")),
            r.report.run_date().format("%Y-%m-%d"),
            esc(&r.model),
            report_page_path(r),
            esc(&r.report.run_id_prefix),
            esc(r.report.experiment.as_deref().unwrap_or("—")),
            rate_text(r.report.pass_rate),
            shown.join(", "),
            notes.join(", ")
        );
    }
    body.push_str("</tbody></table>");
    SitePage { path: "reports.html".to_owned(), html: page("evaltriage — reports", &body, 0, Some(FILTER_SCRIPT)) }
}

fn model_page(m: &ModelTrend, reports: &[CatalogReport], trend: &Trend) -> SitePage {
    let path = model_page_path(m);
    let mut body = format!("<h1>{}</h1>", esc(&m.model));
    let _ = write!(
        body,
        "<h2>Pass rate</h2>{}<h2>Failures by label</h2>{}",
        pass_rate_chart(std::slice::from_ref(m)),
        label_bars(&m.points)
    );
    // The heat map: one row per eval that failed in the window, one column per run.
    let by_report = |rel: &str| reports.iter().find(|r| r.relative == rel);
    body.push_str("<h2>Evals × runs</h2><p class=\"muted\">Each cell: ✓ passed, an empty grey cell when the run did not have the eval, or the failure's label (MF model fault, OS overly strict, AT ambiguous task, KG known gap, INF infrastructure; hover for the full label).</p><table class=\"heatmap\"><thead><tr><th>Eval</th>");
    for p in &m.points {
        let link = by_report(&p.report).map(|r| format!("../{}", report_page_path(r))).unwrap_or_default();
        let _ = write!(
            body,
            "<th><a href=\"{}\">{}<br><code>{}</code></a></th>",
            esc(&link),
            p.date.format("%m-%d"),
            esc(&p.run_id_prefix)
        );
    }
    body.push_str("</tr></thead><tbody>");
    for row in &m.evals {
        let mut classes = vec!["heat-row"];
        let mut tags = String::new();
        if row.persistent {
            classes.push("persistent");
            tags.push_str("<span class=\"tag persistent-tag\">persistent</span>");
        }
        if row.flaky {
            classes.push("flaky");
            tags.push_str("<span class=\"tag flaky-tag\">flaky</span>");
        }
        let _ = write!(
            body,
            "<tr class=\"{}\"><td class=\"eval\"><code>{}</code>{tags}</td>",
            classes.join(" "),
            esc(&row.eval)
        );
        for (cell, p) in row.cells.iter().zip(&m.points) {
            match cell {
                Outcome::Passed => {
                    let _ =
                        write!(body, "<td class=\"cell pass\" title=\"passed in {}\">✓</td>", esc(&p.run_id_prefix));
                }
                Outcome::Absent => {
                    let _ = write!(
                        body,
                        "<td class=\"cell absent\" title=\"not in run {}\" aria-label=\"absent\"></td>",
                        esc(&p.run_id_prefix)
                    );
                }
                Outcome::Failed(label) => {
                    let _ = write!(
                        body,
                        "<td class=\"cell fail\" style=\"background:{}\" title=\"{} in {}\">{}</td>",
                        label_colour(label),
                        esc(label),
                        esc(&p.run_id_prefix),
                        esc(&label_abbrev(label))
                    );
                }
            }
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table>");
    if m.evals.is_empty() {
        body.push_str("<p>No failures named in these runs.</p>");
    }
    let _ = write!(
        body,
        "<p class=\"muted\">Runs in the order they ran. Persistent: failed in at least {} of the runs shown that had the eval. Flaky: passed and failed in turn, over the runs that had it.</p>",
        trend.options.persistent_min
    );
    body.push_str("<h2>Reports</h2><ul>");
    let key = crate::read::find::normalise(&m.model);
    for r in reports.iter().filter(|r| r.model_key() == key) {
        let scope = r.report.scope.as_ref().map(|s| format!(" ({})", esc(&s.describe()))).unwrap_or_default();
        let _ = write!(
            body,
            "<li><a href=\"../{}\">{} {}</a>{scope} — {}</li>",
            report_page_path(r),
            r.report.run_date().format("%Y-%m-%d"),
            esc(&r.report.run_id_prefix),
            rate_text(r.report.pass_rate)
        );
    }
    body.push_str("</ul>");
    SitePage { html: page(&m.model, &body, depth(&path), None), path }
}

/// The findings: each with its kind, state, model (a grader finding's models), eval, history and
/// the newest failing run's report; filterable by model and state (`#label=reopened`).
fn findings_page(findings: &[Finding]) -> SitePage {
    let mut body = String::from(
        "<h1>Findings</h1><p class=\"muted\">Failures that recur (per model and eval), evals that pass and fail in turn (flaky), and grader suspects (an eval failing the same way for several models), derived from the reports every time. States: new → recurring → fix-claimed (an Actions taken entry names the eval, or <code>evaltriage findings claim</code>) → verified, or reopened by a failure after the claim. History: ✓ passed, ✗ failed, · the run did not have the eval; oldest first.</p>",
    );
    if findings.is_empty() {
        body.push_str("<p>No findings: no failure has recurred yet.</p>");
        return SitePage { path: "findings.html".to_owned(), html: page("evaltriage — findings", &body, 0, None) };
    }
    body.push_str("<div class=\"filters\"><label>Model <input id=\"model-filter\" type=\"search\" placeholder=\"filter\"></label><label>State <select id=\"label-filter\"><option value=\"\">any</option>");
    for state in crate::FindingState::ALL {
        let _ = write!(body, "<option value=\"{0}\">{0}</option>", state.as_str());
    }
    body.push_str("</select></label></div><table id=\"findings\"><thead><tr><th>Finding</th><th>Kind</th><th>State</th><th>Model</th><th>Eval</th><th>History</th><th>Last failed</th><th>Why</th></tr></thead><tbody>");
    for f in findings {
        let models: Vec<&str> = match (&f.model, &f.suspect) {
            (Some(m), _) => vec![m.as_str()],
            (None, Some(s)) => s.models.iter().map(String::as_str).collect(),
            (None, None) => Vec::new(),
        };
        let kind = match f.kind {
            FindingKind::Grader => format!("grader ({} models)", models.len()),
            other => other.as_str().to_owned(),
        };
        let last = f.last_failed.as_ref().map_or_else(String::new, |r| {
            let when = format!("{} <code>{}</code>", r.ran_at.format("%Y-%m-%d"), esc(&r.run_key));
            if r.report.is_empty() {
                when
            } else {
                format!("<a href=\"{}\">{when}</a>", esc(&report_page_path_of(&r.report)))
            }
        });
        let _ = write!(
            body,
            "<tr class=\"filterable finding-row\" data-model=\"{}\" data-labels=\"{}\"><td><code>{}</code></td><td>{}</td><td class=\"state\">{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code> failed {} of {}</td><td>{last}</td><td class=\"muted\">{}</td></tr>",
            esc(&models.join(" ")),
            f.state.as_str(),
            esc(&f.id),
            esc(&kind),
            f.state.as_str(),
            esc(&models.join(", ")),
            esc(&f.eval),
            esc(&f.pattern),
            f.failed,
            f.had,
            esc(&f.why),
        );
    }
    body.push_str("</tbody></table>");
    SitePage { path: "findings.html".to_owned(), html: page("evaltriage — findings", &body, 0, Some(FILTER_SCRIPT)) }
}

fn nightly_index(digests: &[NightlyDigest]) -> SitePage {
    let mut body = String::from("<h1>Nightly digests</h1>");
    if digests.is_empty() {
        body.push_str("<p>No nightly digests yet (<code>evaltriage nightly</code> writes them to <code>&lt;reports-dir&gt;/nightly/</code>).</p>");
    } else {
        body.push_str("<ul id=\"digests\">");
        for d in digests {
            let _ = write!(body, "<li><a href=\"nightly/{}.html\">{}</a></li>", slug(&d.name), esc(&d.name));
        }
        body.push_str("</ul>");
    }
    SitePage { path: "nightly.html".to_owned(), html: page("evaltriage — nightly", &body, 0, None) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digests_links_to_report_files_lead_to_the_report_pages() {
        let report = crate::read::prior::parse_report(
            "# r\n\n- **Pass rate**: 1/2\n",
            Some(std::path::Path::new("anthropic/claude-4.6/jn7aaaaa_2026-02-01.md")),
        )
        .unwrap();
        let catalog = [CatalogReport {
            report,
            model: "anthropic/claude-4.6".into(),
            relative: "anthropic/claude-4.6/jn7aaaaa_2026-02-01.md".into(),
        }];
        let digest = NightlyDigest {
            name: "2026-02-02".into(),
            markdown: "| run | report |\n|---|---|\n| x | [report](../anthropic/claude-4.6/jn7aaaaa_2026-02-01.md) |\n\n[up](../../../etc/passwd.md) [web](https://example.com/a.md)\n".into(),
        };
        let pages = site_pages(
            &catalog,
            std::slice::from_ref(&digest),
            SiteOptions { runs: 5, across: AcrossOptions::default() },
        );
        let night = pages.iter().find(|p| p.path == "nightly/2026-02-02.html").unwrap();
        assert!(night.html.contains("href=\"../r/anthropic/claude-4.6/jn7aaaaa_2026-02-01.html\""), "{}", night.html);
        assert!(pages.iter().all(|p| p.path != "r/anthropic/claude-4.6/jn7aaaaa_2026-02-01.md"));
        assert!(!night.html.contains("href=\"../anthropic/"), "{}", night.html);
        assert!(night.html.contains("href=\"../../../etc/passwd.md\""), "a link out of the tree is left as it was");
        assert!(night.html.contains("href=\"https://example.com/a.md\""));
    }

    #[test]
    fn slugs_stay_inside_the_site() {
        assert_eq!(slug("anthropic/claude-4.6"), "anthropic__claude-4.6");
        assert_eq!(slug(".."), "_");
        assert_eq!(slug("a b<c>"), "a_b_c_");
    }
}
