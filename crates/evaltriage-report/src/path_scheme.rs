//! Where reports live: `<reports_dir>/<provider>/<model>/<runIdPrefix>_<YYYY-MM-DD>.md`, with every
//! component sanitised so that no slug can reach outside the reports folder.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use evaltriage_core::Run;

/// The folder name used when a slug has no provider and the run does not name one.
pub const UNKNOWN_PROVIDER: &str = "unknown-provider";
/// The folder name used when the model part of a slug is empty or unusable.
pub const UNKNOWN_MODEL: &str = "unknown-model";

/// The longest folder name kept, in bytes (file systems allow 255).
const MAX_COMPONENT_BYTES: usize = 100;

/// The `<provider>` and `<model>` folder names for a run: its model slug split at the first `/`; a
/// slug without `/` uses the run's provider field (or `unknown-provider`). Both are sanitised.
pub fn report_folders(run: &Run) -> (String, String) {
    let slug = run.model.trim();
    let (provider, model) = match slug.split_once('/') {
        Some((provider, model)) if !provider.trim().is_empty() && !model.trim().is_empty() => {
            (provider.to_owned(), model.to_owned())
        }
        _ => (run.provider.clone().unwrap_or_default(), slug.trim_matches('/').to_owned()),
    };
    (sanitise_component(&provider, UNKNOWN_PROVIDER), sanitise_component(&model, UNKNOWN_MODEL))
}

/// The folder holding every report for the run's model: `<reports_dir>/<provider>/<model>`.
pub fn model_dir(reports_dir: &Path, run: &Run) -> PathBuf {
    let (provider, model) = report_folders(run);
    reports_dir.join(provider).join(model)
}

/// The report's file name: `<runIdPrefix>_<YYYY-MM-DD>.md`.
pub fn report_file_name(run: &Run, date: NaiveDate) -> String {
    // Run ids are validated `[0-9a-z]`, so the prefix is already a safe file name.
    format!("{}_{}.md", run.id.prefix(), date.format("%Y-%m-%d"))
}

/// The full path of the report for a run analysed on `date` (UTC).
pub fn report_path(reports_dir: &Path, run: &Run, date: NaiveDate) -> PathBuf {
    model_dir(reports_dir, run).join(report_file_name(run, date))
}

/// Splits a report file name `<prefix>_<YYYY-MM-DD>.md` into its run id prefix and date.
pub fn parse_report_file_name(name: &str) -> Option<(String, NaiveDate)> {
    let stem = name.strip_suffix(".md")?;
    let (prefix, date) = stem.rsplit_once('_')?;
    if prefix.is_empty() || prefix.len() > 64 || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    if date.len() != 10 {
        return None;
    }
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some((prefix.to_owned(), date))
}

/// Makes one path component safe: separators, control characters and characters file systems
/// reject become `-`; leading dots and surrounding spaces are dropped (no `.`, `..` or hidden
/// folders); Windows device names get a `_` prefix; long names are cut. An empty result becomes
/// `fallback`.
pub fn sanitise_component(raw: &str, fallback: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let safe = match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '-',
            c if c.is_control() => '-',
            c if c.is_whitespace() => '-',
            c => c,
        };
        out.push(safe);
    }
    let trimmed = out.trim_matches(|c: char| c == '.' || c == '-' || c == ' ');
    let mut out = trimmed.to_owned();
    if out.len() > MAX_COMPONENT_BYTES {
        let mut end = MAX_COMPONENT_BYTES;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.truncate(out.trim_end_matches(['.', '-']).len());
    }
    if out.is_empty() {
        return fallback.to_owned();
    }
    let stem = out.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Component;

    use evaltriage_core::{RunId, RunStatus};

    use super::*;

    fn run(model: &str, provider: Option<&str>) -> Run {
        Run {
            id: RunId::new("jn72t14a0tmje3jrj9wwng78gh80mdfw").unwrap(),
            model_id: None,
            model: model.to_owned(),
            formatted_name: None,
            provider: provider.map(str::to_owned),
            experiment: "default".to_owned(),
            status: RunStatus::Completed { duration_ms: None },
            created_at_ms: 0.0,
            planned_evals: Vec::new(),
            evals: Vec::new(),
        }
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 2, 6).unwrap()
    }

    fn check(model: &str, provider: Option<&str>, expected: &str) {
        let reports = Path::new("reports");
        let path = report_path(reports, &run(model, provider), date());
        assert_eq!(path, Path::new(expected), "slug {model:?}");
        let rest = path.strip_prefix(reports).unwrap();
        let components: Vec<Component<'_>> = rest.components().collect();
        assert_eq!(components.len(), 3, "{path:?}");
        assert!(components.iter().all(|c| matches!(c, Component::Normal(_))), "{path:?}");
    }

    #[test]
    fn slugs_split_at_the_first_slash() {
        check(
            "anthropic/claude-opus-4.6",
            Some("openrouter"),
            "reports/anthropic/claude-opus-4.6/jn72t14a_2026-02-06.md",
        );
        check("arcee-ai/trinity/large", None, "reports/arcee-ai/trinity-large/jn72t14a_2026-02-06.md");
        check("gpt-5.2", Some("openai"), "reports/openai/gpt-5.2/jn72t14a_2026-02-06.md");
        check("gpt-5.2", None, "reports/unknown-provider/gpt-5.2/jn72t14a_2026-02-06.md");
    }

    #[test]
    fn hostile_slugs_stay_inside_the_reports_folder() {
        check("../../x", None, "reports/unknown-provider/x/jn72t14a_2026-02-06.md");
        check("../..", Some(".."), "reports/unknown-provider/unknown-model/jn72t14a_2026-02-06.md");
        check("/etc/passwd", None, "reports/unknown-provider/etc-passwd/jn72t14a_2026-02-06.md");
        check("..\\..\\win/x", None, "reports/win/x/jn72t14a_2026-02-06.md");
        check("a\0b/c\0d", None, "reports/a-b/c-d/jn72t14a_2026-02-06.md");
        check("", None, "reports/unknown-provider/unknown-model/jn72t14a_2026-02-06.md");
        check("   ", Some("  "), "reports/unknown-provider/unknown-model/jn72t14a_2026-02-06.md");
        check("CON/nul", None, "reports/_CON/_nul/jn72t14a_2026-02-06.md");
        check(".hidden/.model", None, "reports/hidden/model/jn72t14a_2026-02-06.md");
        check("p/\u{1b}[31mred\n", None, "reports/p/[31mred/jn72t14a_2026-02-06.md");
        let long = "é".repeat(300);
        let path = report_path(Path::new("reports"), &run(&format!("p/{long}"), None), date());
        let model = path.parent().unwrap().file_name().unwrap().to_str().unwrap();
        assert!(model.len() <= MAX_COMPONENT_BYTES && !model.is_empty());
    }

    #[test]
    fn file_names_parse_back() {
        assert_eq!(parse_report_file_name("jn72t14a_2026-02-06.md"), Some(("jn72t14a".to_owned(), date())));
        assert_eq!(parse_report_file_name("jn7922_2026-02-06.md").unwrap().0, "jn7922");
        assert_eq!(parse_report_file_name("README.md"), None);
        assert_eq!(parse_report_file_name("x_2026-13-01.md"), None);
        assert_eq!(parse_report_file_name("../x_2026-01-01.md"), None);
    }
}
