//! Where reports live: `<reports_dir>/<provider>/<model>/<runIdPrefix>_<YYYY-MM-DD>.md` for a run,
//! with `.<category>[.<eval>]` before `.md` for a scoped analysis; every component is sanitised so
//! that no slug can reach outside the reports folder.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use evaltriage_core::source::RunHeader;
use evaltriage_core::{EvalPath, Run, RunId};

/// The folder name used when a slug has no provider and the run does not name one.
pub const UNKNOWN_PROVIDER: &str = "unknown-provider";
/// The folder name used when the model part of a slug is empty or unusable.
pub const UNKNOWN_MODEL: &str = "unknown-model";

/// The longest folder name kept, in bytes (file systems allow 255).
const MAX_COMPONENT_BYTES: usize = 100;

/// The `<provider>` and `<model>` folder names for a run: its model slug split at the first `/`; a
/// slug without `/` uses the run's provider field (or `unknown-provider`). Both are sanitised.
pub fn report_folders(run: &Run) -> (String, String) {
    folders(&run.model, run.provider.as_deref())
}

/// [`report_folders`] of a model slug and endpoint provider.
pub(crate) fn folders(slug: &str, endpoint_provider: Option<&str>) -> (String, String) {
    let slug = slug.trim();
    let (provider, model) = match slug.split_once('/') {
        Some((provider, model)) if !provider.trim().is_empty() && !model.trim().is_empty() => (provider, model),
        _ => (endpoint_provider.unwrap_or_default(), slug.trim_matches('/')),
    };
    (sanitise_component(provider, UNKNOWN_PROVIDER), sanitise_component(model, UNKNOWN_MODEL))
}

/// The folder holding every report for the run's model: `<reports_dir>/<provider>/<model>`.
pub fn model_dir(reports_dir: &Path, run: &Run) -> PathBuf {
    model_dir_of(reports_dir, &run.model, run.provider.as_deref())
}

/// [`model_dir`] of a model slug and endpoint provider.
pub(crate) fn model_dir_of(reports_dir: &Path, slug: &str, endpoint_provider: Option<&str>) -> PathBuf {
    let (provider, model) = folders(slug, endpoint_provider);
    reports_dir.join(provider).join(model)
}

/// What names a report: its model's folders, the run, the day of the analysis and the part of the
/// run it covers. A fetched [`Run`] or a listed [`RunHeader`] gives it, so finding a run's report
/// needs no fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportKey {
    /// The model's slug as the run names it (`anthropic/claude-opus-4.6`), and the endpoint
    /// provider: what finds the folder the tree already has for the model.
    pub slug: String,
    pub endpoint_provider: Option<String>,
    /// The `<provider>` folder, sanitised.
    pub provider: String,
    /// The `<model>` folder, sanitised.
    pub model: String,
    /// The run id's first eight characters.
    pub run_id_prefix: String,
    /// The day (UTC) the run was analyzed.
    pub date: NaiveDate,
    /// The part of the run the report covers; `None` for the whole run.
    pub scope: Option<ReportScope>,
}

impl ReportKey {
    /// The key of a run of `model` (a slug) served by `endpoint_provider`.
    pub fn new(
        model: &str,
        endpoint_provider: Option<&str>,
        run_id: &RunId,
        date: NaiveDate,
        scope: Option<&ReportScope>,
    ) -> Self {
        let slug = model.to_owned();
        let (provider, model) = folders(model, endpoint_provider);
        Self {
            slug,
            endpoint_provider: endpoint_provider.map(str::to_owned),
            provider,
            model,
            run_id_prefix: run_id.prefix().to_owned(),
            date,
            scope: scope.cloned(),
        }
    }

    /// The key of a fetched run's report.
    pub fn of_run(run: &Run, date: NaiveDate, scope: Option<&ReportScope>) -> Self {
        Self::new(&run.model, run.provider.as_deref(), &run.id, date, scope)
    }

    /// The key of a listed run's report (the nightly's question "is it reported?").
    pub fn of_header(header: &RunHeader, date: NaiveDate, scope: Option<&ReportScope>) -> Self {
        Self::new(&header.model, header.provider.as_deref(), &header.run_id, date, scope)
    }

    /// The report's file name: `<runIdPrefix>_<YYYY-MM-DD>.md` for the whole run,
    /// `<runIdPrefix>_<YYYY-MM-DD>.<category>.md` for a category and
    /// `<runIdPrefix>_<YYYY-MM-DD>.<category>.<eval>.md` for one eval. The scope's components are
    /// sanitised (dots too, so the name parses back), so a scoped name never equals the full one.
    pub fn file_name(&self) -> String {
        // Run ids are validated `[0-9a-z]`, so the prefix is already a safe file name.
        let mut name = format!("{}_{}", self.run_id_prefix, self.date.format("%Y-%m-%d"));
        if let Some(scope) = &self.scope {
            name.push('.');
            name.push_str(&scope_component(&scope.category, "category"));
            if let Some(eval) = &scope.eval {
                name.push('.');
                name.push_str(&scope_component(eval, "eval"));
            }
        }
        name.push_str(".md");
        name
    }
}

/// What part of a run a report covers: one category, or one eval of it. `None` (where a scope is
/// optional) is the whole run.
///
/// A scoped analysis (a category- or eval-level target) writes its own file beside the run's full
/// report and never replaces it; read back as a prior report it speaks only for the evals it
/// covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportScope {
    /// The category, such as `000-fundamentals`.
    pub category: String,
    /// The eval's name within the category, such as `003-crons`; `None` for the whole category.
    pub eval: Option<String>,
}

impl ReportScope {
    /// Whether an eval lies inside this scope.
    pub fn covers(&self, path: &EvalPath) -> bool {
        path.category() == self.category && self.eval.as_deref().is_none_or(|e| path.name() == e)
    }

    /// `category 000-fundamentals` or `eval 000-fundamentals/003-crons`, for prose.
    pub fn describe(&self) -> String {
        match &self.eval {
            Some(eval) => format!("eval {}/{eval}", self.category),
            None => format!("category {}", self.category),
        }
    }
}

/// A report file name taken apart: `<prefix>_<YYYY-MM-DD>[.<category>[.<eval>]].md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFileName {
    /// The run id prefix.
    pub prefix: String,
    pub date: NaiveDate,
    /// The scope as the (sanitised) file name spells it; `None` for a full report.
    pub scope: Option<ReportScope>,
}

/// The file name of a run's report (see [`ReportKey::file_name`]).
pub fn report_file_name(run: &Run, date: NaiveDate, scope: Option<&ReportScope>) -> String {
    ReportKey::of_run(run, date, scope).file_name()
}

/// One scope part of a file name: sanitised, with dots replaced so the name splits back.
fn scope_component(raw: &str, fallback: &str) -> String {
    sanitise_component(&raw.replace('.', "-"), fallback)
}

/// The full path of the report a key names: `<reports_dir>/<provider>/<model>/<file name>`.
pub fn report_path(reports_dir: &Path, key: &ReportKey) -> PathBuf {
    reports_dir.join(&key.provider).join(&key.model).join(key.file_name())
}

/// Takes a report file name apart (see [`ReportFileName`]); `None` for anything else.
pub fn parse_report_file_name(name: &str) -> Option<ReportFileName> {
    let stem = name.strip_suffix(".md")?;
    let mut parts = stem.split('.');
    let (prefix, date) = parts.next()?.rsplit_once('_')?;
    if prefix.is_empty() || prefix.len() > 64 || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    if date.len() != 10 {
        return None;
    }
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let valid = |part: &str| !part.is_empty() && part == sanitise_component(part, "");
    let scope = match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) => None,
        (Some(category), None, _) if valid(category) => Some(ReportScope { category: category.to_owned(), eval: None }),
        (Some(category), Some(eval), None) if valid(category) && valid(eval) => {
            Some(ReportScope { category: category.to_owned(), eval: Some(eval.to_owned()) })
        }
        _ => return None,
    };
    Some(ReportFileName { prefix: prefix.to_owned(), date, scope })
}

/// Makes one path component safe: separators, control characters (C1 and NEL too) and
/// characters file systems reject become `-`; bidi controls (which make a name read differently
/// from what it is) are removed; leading dots and surrounding spaces are dropped (no `.`, `..` or hidden
/// folders); Windows device names get a `_` prefix; long names are cut. An empty result becomes
/// `fallback`.
pub fn sanitise_component(raw: &str, fallback: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars().filter(|&c| !evaltriage_core::text::is_bidi_control(c)) {
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

    use super::*;
    use crate::test_support::run;

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 2, 6).unwrap()
    }

    fn check(model: &str, provider: Option<&str>, expected: &str) {
        let reports = Path::new("reports");
        let path = report_path(reports, &ReportKey::of_run(&run(model, provider), date(), None));
        assert_eq!(path, Path::new(expected), "slug {model:?}");
        let rest = path.strip_prefix(reports).unwrap();
        let components: Vec<Component<'_>> = rest.components().collect();
        assert_eq!(components.len(), 3, "{path:?}");
        assert!(components.iter().all(|c| matches!(c, Component::Normal(_))), "{path:?}");
    }

    #[test]
    fn a_listed_header_names_the_same_report_as_the_fetched_run() {
        for (model, provider) in
            [("anthropic/claude-opus-4.6", Some("openrouter")), ("gpt-5", Some("openai")), ("", None)]
        {
            let run = run(model, provider);
            let header = RunHeader {
                run_id: run.id.clone(),
                model: model.to_owned(),
                experiment: "default".to_owned(),
                status: "completed".to_owned(),
                created_at_ms: 0.0,
                model_id: None,
                provider: provider.map(str::to_owned),
                eval_counts: None,
                benchmark_version: None,
            };
            let scope = ReportScope { category: "000-fundamentals".to_owned(), eval: None };
            for scope in [None, Some(&scope)] {
                let key = ReportKey::of_header(&header, date(), scope);
                assert_eq!(key, ReportKey::of_run(&run, date(), scope), "{model:?}");
                assert_eq!(report_path(Path::new("r"), &key).parent(), Some(model_dir(Path::new("r"), &run).as_path()));
                assert_eq!(key.file_name(), report_file_name(&run, date(), scope));
            }
        }
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
        // C1 controls (NEL too) and bidi overrides, marks and isolates leave no trace a reader
        // cannot see.
        check("p\u{85}q/m\u{9b}x\u{80}", None, "reports/p-q/m-x/jn72t14a_2026-02-06.md");
        check(
            "open\u{202e}ai/gpt\u{2066}-5\u{2069}\u{200e}\u{200f}\u{61c}\u{202a}",
            None,
            "reports/openai/gpt-5/jn72t14a_2026-02-06.md",
        );
        let long = "é".repeat(300);
        let path =
            report_path(Path::new("reports"), &ReportKey::of_run(&run(&format!("p/{long}"), None), date(), None));
        let model = path.parent().unwrap().file_name().unwrap().to_str().unwrap();
        assert!(model.len() <= MAX_COMPONENT_BYTES && !model.is_empty());
    }

    fn scope(category: &str, eval: Option<&str>) -> ReportScope {
        ReportScope { category: category.to_owned(), eval: eval.map(str::to_owned) }
    }

    #[test]
    fn file_names_parse_back() {
        let full = |prefix: &str| ReportFileName { prefix: prefix.to_owned(), date: date(), scope: None };
        assert_eq!(parse_report_file_name("jn72t14a_2026-02-06.md"), Some(full("jn72t14a")));
        assert_eq!(parse_report_file_name("jn7922_2026-02-06.md"), Some(full("jn7922")));
        assert_eq!(parse_report_file_name("README.md"), None);
        assert_eq!(parse_report_file_name("x_2026-13-01.md"), None);
        assert_eq!(parse_report_file_name("../x_2026-01-01.md"), None);
        assert_eq!(parse_report_file_name("x_2026-01-01..md"), None);
        assert_eq!(parse_report_file_name("x_2026-01-01.a.b.c.md"), None);
        assert_eq!(parse_report_file_name("x_2026-01-01.a b.md"), None);
    }

    #[test]
    fn scoped_file_names_round_trip_and_never_collide_with_the_full_report() {
        let run = run("anthropic/claude-opus-4.6", None);
        let scopes = [
            None,
            Some(scope("000-fundamentals", None)),
            Some(scope("000-fundamentals", Some("003-crons"))),
            Some(scope("000-fundamentals", Some("004-other"))),
            Some(scope("001-data_modeling", None)),
        ];
        let names: Vec<String> = scopes.iter().map(|s| report_file_name(&run, date(), s.as_ref())).collect();
        assert_eq!(
            names,
            [
                "jn72t14a_2026-02-06.md",
                "jn72t14a_2026-02-06.000-fundamentals.md",
                "jn72t14a_2026-02-06.000-fundamentals.003-crons.md",
                "jn72t14a_2026-02-06.000-fundamentals.004-other.md",
                "jn72t14a_2026-02-06.001-data_modeling.md",
            ]
        );
        for (name, scope) in names.iter().zip(&scopes) {
            let parsed = parse_report_file_name(name).unwrap();
            assert_eq!((parsed.prefix.as_str(), parsed.date), ("jn72t14a", date()), "{name}");
            assert_eq!(parsed.scope.as_ref(), scope.as_ref(), "{name}");
        }
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        // Hostile scope components stay one component each, and still parse back as scoped.
        for hostile in [scope("..", Some("../x")), scope("a.b/c", Some("")), scope("", None), scope("a\nb", Some("."))]
        {
            let name = report_file_name(&run, date(), Some(&hostile));
            let path = report_path(Path::new("reports"), &ReportKey::of_run(&run, date(), Some(&hostile)));
            assert_eq!(path.parent().unwrap(), Path::new("reports/anthropic/claude-opus-4.6"), "{name}");
            assert_ne!(name, names[0]);
            assert!(parse_report_file_name(&name).unwrap().scope.is_some(), "{name}");
        }
    }

    #[test]
    fn a_scope_covers_its_category_or_its_eval() {
        let crons = EvalPath::new("000-fundamentals/003-crons");
        let other = EvalPath::new("000-fundamentals/004-other");
        let elsewhere = EvalPath::new("001-data_modeling/003-crons");
        let category = scope("000-fundamentals", None);
        assert!(category.covers(&crons) && category.covers(&other) && !category.covers(&elsewhere));
        let eval = scope("000-fundamentals", Some("003-crons"));
        assert!(eval.covers(&crons) && !eval.covers(&other) && !eval.covers(&elsewhere));
        assert_eq!(eval.describe(), "eval 000-fundamentals/003-crons");
        assert_eq!(category.describe(), "category 000-fundamentals");
    }
}
