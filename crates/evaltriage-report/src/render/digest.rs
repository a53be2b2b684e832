//! The nightly digest: one markdown section (and one JSON object) per nightly — per run the model,
//! experiment, pass rate, the changes since the model's previous report, the label counts and a
//! link to its report; the runs left for later and why; the verdicts flagged for human review;
//! the findings whose state the night changed.
//! Several nightlies on one day append sections to the day's file (`<reports-dir>/nightly/<date>.md`).
//! Pure: the binary gathers the data and writes the file with [`crate::write_file_atomically`].

use std::fmt::Write as _;

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::across::findings::FindingChange;
use crate::llm_cost::LlmCost;
use crate::render::escape::{cell, code, inline};

/// One nightly, as its digest section shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct NightDigest {
    /// The day the nightly started (UTC): the digest file it belongs to.
    pub date: NaiveDate,
    /// When it started, such as `2026-11-30T02:00:03Z`.
    pub started_at: String,
    /// Whether it got to the end; a section left `false` belongs to a nightly that was stopped.
    pub finished: bool,
    /// Where the runs came from (a deployment URL or a store).
    pub source: String,
    pub runs: Vec<DigestRun>,
    /// Night-wide notes: listing problems, models with more runs than one listing returns.
    pub notes: Vec<String>,
    /// LLM tokens spent by the night.
    pub tokens_spent: u64,
    /// What they cost at the config's price for the analysing model (or that it has none);
    /// `None` when no LLM classified.
    pub llm_cost: Option<LlmCost>,
    /// `--budget-tokens`, when given.
    pub budget_tokens: Option<u64>,
    /// The findings that are new, changed state or went away between the night's start and its
    /// end ([`crate::finding_changes`]).
    pub finding_changes: Vec<FindingChange>,
}

/// One run the nightly looked at.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestRun {
    pub run_id: String,
    pub model: String,
    pub experiment: String,
    pub outcome: RunOutcome,
}

/// What the nightly did with a run.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// Analyzed now; a new report was written.
    Analyzed(AnalyzedRun),
    /// A report was already there: skipped, nothing spent.
    AlreadyReported { report: String },
    /// Not picked by `--sample-every`: only its shape.
    Sampled { passed: usize, total: usize, failed: usize, infrastructure: usize },
    /// Not a coding run (or otherwise not for this tool): skipped, with why.
    Skipped { why: String },
    /// Left for the next night, with why (still running, budget, `--max-runs`).
    Left { why: String },
    /// Could not be fetched or analyzed: left for the next night too, and the exit code is 1.
    Failed { error: String },
}

/// A run analyzed tonight.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzedRun {
    pub passed: usize,
    pub total: usize,
    /// The change since the model's previous report, in one line.
    pub changes: String,
    /// Evals that failed then and pass now.
    pub fixed: Vec<String>,
    /// Evals failing now that did not fail then.
    pub new_failures: Vec<String>,
    /// Label and count, in the labels' order.
    pub labels: Vec<(String, usize)>,
    /// The report, relative to the digest's folder (a link that works in a repository viewer).
    pub report: String,
    pub flagged: Vec<Flagged>,
    /// LLM tokens the analysis spent, and what they cost (`None` when no LLM classified).
    pub tokens: u64,
    pub llm_cost: Option<LlmCost>,
    /// What the run's generations cost, as the benchmark sums it, when they recorded it.
    pub cost_usd: Option<f64>,
}

/// A verdict a person should look at.
#[derive(Debug, Clone, PartialEq)]
pub struct Flagged {
    pub eval_path: String,
    pub classification: Option<String>,
    pub confidence: Option<f32>,
    /// `low confidence`, `error`, `regression`.
    pub reasons: Vec<String>,
}

/// The first line of a day's digest file.
pub fn digest_title(date: NaiveDate) -> String {
    format!("# evaltriage nightly digest, {}\n", date.format("%Y-%m-%d"))
}

impl NightDigest {
    /// Adds a run's LLM tokens, and their cost, to the night's.
    pub fn add_spent(&mut self, run: &AnalyzedRun) {
        self.tokens_spent += run.tokens;
        if let (Some(night), Some(cost)) = (&mut self.llm_cost, &run.llm_cost) {
            night.add(cost);
        }
    }

    fn count(&self, pick: impl Fn(&RunOutcome) -> bool) -> usize {
        self.runs.iter().filter(|r| pick(&r.outcome)).count()
    }

    fn flagged(&self) -> impl Iterator<Item = (&DigestRun, &Flagged)> {
        self.runs.iter().flat_map(|r| match &r.outcome {
            RunOutcome::Analyzed(a) => a.flagged.iter().map(move |f| (r, f)).collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    }

    /// One line for a chat message or the terminal.
    pub fn summary(&self) -> String {
        let analyzed = self.count(|o| matches!(o, RunOutcome::Analyzed(_)));
        let already = self.count(|o| matches!(o, RunOutcome::AlreadyReported { .. }));
        let sampled = self.count(|o| matches!(o, RunOutcome::Sampled { .. }));
        let left = self.count(|o| matches!(o, RunOutcome::Left { .. }));
        let failed = self.count(|o| matches!(o, RunOutcome::Failed { .. }));
        let flagged = self.flagged().count();
        let mut parts = vec![format!("{analyzed} analyzed")];
        if already > 0 {
            parts.push(format!("{already} already reported"));
        }
        if sampled > 0 {
            parts.push(format!("{sampled} sampled out"));
        }
        if left > 0 {
            parts.push(format!("{left} left for later"));
        }
        if failed > 0 {
            parts.push(format!("{failed} failed"));
        }
        parts.push(format!("{flagged} flagged for review"));
        format!(
            "evaltriage nightly {}: {}{}",
            self.date.format("%Y-%m-%d"),
            parts.join(", "),
            if self.finished { "" } else { " (did not finish)" }
        )
    }

    /// This nightly's section of the day's digest.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let state = if self.finished { "" } else { " (in progress, or stopped before the end)" };
        let _ = writeln!(s, "\n## Nightly started {}{state}\n", inline(&self.started_at));
        let _ = writeln!(s, "{}.", inline(&self.summary()));
        let _ = writeln!(s, "\nSource: {}.", code(&self.source));
        let budget = self.budget_tokens.map(|b| format!(" of a budget of {b}")).unwrap_or_default();
        let cost = match &self.llm_cost {
            Some(LlmCost { usd: None, model, .. }) => format!(" (no price configured for {})", code(model)),
            Some(cost) => format!(" ({})", cost.describe()),
            None => String::new(),
        };
        let _ = writeln!(s, "LLM tokens spent: {}{budget}{cost}.", self.tokens_spent);

        let analyzed: Vec<(&DigestRun, &AnalyzedRun)> = self
            .runs
            .iter()
            .filter_map(|r| match &r.outcome {
                RunOutcome::Analyzed(a) => Some((r, a)),
                _ => None,
            })
            .collect();
        if !analyzed.is_empty() {
            s.push_str("\n### Analyzed\n\n| model | experiment | run | pass rate | cost | since the previous report | labels | report |\n|---|---|---|---|---|---|---|---|\n");
            for (r, a) in &analyzed {
                let rate = if a.total > 0 { a.passed as f64 * 100.0 / a.total as f64 } else { 0.0 };
                let labels: Vec<String> = a.labels.iter().map(|(l, n)| format!("{l} {n}")).collect();
                let mut changes = a.changes.clone();
                if !a.fixed.is_empty() {
                    changes.push_str(&format!("; fixed: {}", a.fixed.join(", ")));
                }
                if !a.new_failures.is_empty() {
                    changes.push_str(&format!("; new: {}", a.new_failures.join(", ")));
                }
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {}/{} ({rate:.1}%) | {} | {} | {} | [report]({}) |",
                    cell(&r.model),
                    cell(&r.experiment),
                    code(&r.run_id),
                    a.passed,
                    a.total,
                    a.cost_usd.map_or_else(|| "—".to_owned(), evaltriage_core::usage::format_usd),
                    cell(&changes),
                    cell(&labels.join(", ")),
                    link_target(&a.report),
                );
            }
        }

        let flagged: Vec<_> = self.flagged().collect();
        if !flagged.is_empty() {
            s.push_str("\n### Flagged for review\n\n| model | run | eval | label | confidence | why |\n|---|---|---|---|---|---|\n");
            for (r, f) in flagged {
                let confidence = f.confidence.map_or_else(|| "—".to_owned(), |c| format!("{c:.2}"));
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {confidence} | {} |",
                    cell(&r.model),
                    code(&r.run_id),
                    code(&f.eval_path),
                    cell(f.classification.as_deref().unwrap_or("not classified")),
                    cell(&f.reasons.join(", ")),
                );
            }
        }

        if !self.finding_changes.is_empty() {
            s.push_str("\n### Findings that changed state\n\n| finding | kind | subject | was | now |\n|---|---|---|---|---|\n");
            let state = |st: Option<crate::FindingState>| st.map_or("(none)", crate::FindingState::as_str);
            for c in &self.finding_changes {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    code(&c.id),
                    c.kind.as_str(),
                    cell(&c.subject),
                    state(c.from),
                    state(c.to)
                );
            }
        }

        let sampled: Vec<_> = self
            .runs
            .iter()
            .filter_map(|r| match &r.outcome {
                RunOutcome::Sampled { passed, total, failed, infrastructure } => {
                    Some((r, passed, total, failed, infrastructure))
                }
                _ => None,
            })
            .collect();
        if !sampled.is_empty() {
            s.push_str("\n### Not sampled tonight (shape only)\n\n");
            for (r, passed, total, failed, infra) in sampled {
                let _ = writeln!(
                    s,
                    "- {} {} on {}: {passed}/{total} passed, {failed} failed ({infra} infrastructure)",
                    code(&r.run_id),
                    inline(&r.model),
                    inline(&r.experiment),
                );
            }
        }

        let left: Vec<(&DigestRun, String)> = self
            .runs
            .iter()
            .filter_map(|r| match &r.outcome {
                RunOutcome::Left { why } => Some((r, why.clone())),
                RunOutcome::Failed { error } => Some((r, format!("failed: {error}"))),
                _ => None,
            })
            .collect();
        if !left.is_empty() {
            s.push_str("\n### Left for the next night\n\n");
            for (r, why) in left {
                let _ = writeln!(s, "- {} {}: {}", code(&r.run_id), inline(&r.model), inline(&why));
            }
        }

        let skipped: Vec<String> = self
            .runs
            .iter()
            .filter_map(|r| match &r.outcome {
                RunOutcome::AlreadyReported { report } => Some(format!(
                    "- {} {}: already reported ([report]({}))",
                    code(&r.run_id),
                    inline(&r.model),
                    link_target(report)
                )),
                RunOutcome::Skipped { why } => {
                    Some(format!("- {} {}: skipped, {}", code(&r.run_id), inline(&r.model), inline(why)))
                }
                _ => None,
            })
            .collect();
        if !skipped.is_empty() {
            s.push_str("\n### Skipped\n\n");
            for line in skipped {
                let _ = writeln!(s, "{line}");
            }
        }

        if !self.notes.is_empty() {
            s.push_str("\n### Notes\n\n");
            for note in &self.notes {
                let _ = writeln!(s, "- {}", inline(note));
            }
        }
        s
    }

    /// The same data as JSON, for `--json`.
    pub fn to_json(&self) -> Value {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|r| {
                let mut v = json!({"run_id": r.run_id, "model": r.model, "experiment": r.experiment});
                let extra = match &r.outcome {
                    RunOutcome::Analyzed(a) => json!({
                        "outcome": "analyzed",
                        "passed": a.passed,
                        "total": a.total,
                        "changes": a.changes,
                        "fixed": a.fixed,
                        "new_failures": a.new_failures,
                        "labels": a.labels.iter().map(|(l, n)| (l.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
                        "report": a.report,
                        "tokens": a.tokens,
                        "llm_cost": a.llm_cost.as_ref().map(LlmCost::to_json),
                        "cost_usd": a.cost_usd,
                        "flagged": a.flagged.iter().map(|f| json!({
                            "eval_path": f.eval_path,
                            "classification": f.classification,
                            "confidence": f.confidence.map(|c| (f64::from(c) * 100.0).round() / 100.0),
                            "reasons": f.reasons,
                        })).collect::<Vec<_>>(),
                    }),
                    RunOutcome::AlreadyReported { report } => json!({"outcome": "already_reported", "report": report}),
                    RunOutcome::Sampled { passed, total, failed, infrastructure } => json!({
                        "outcome": "sampled_out", "passed": passed, "total": total, "failed": failed,
                        "infrastructure": infrastructure,
                    }),
                    RunOutcome::Skipped { why } => json!({"outcome": "skipped", "why": why}),
                    RunOutcome::Left { why } => json!({"outcome": "left", "why": why}),
                    RunOutcome::Failed { error } => json!({"outcome": "failed", "why": error}),
                };
                if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
                    o.extend(e);
                }
                v
            })
            .collect();
        json!({
            "date": self.date.format("%Y-%m-%d").to_string(),
            "started_at": self.started_at,
            "finished": self.finished,
            "source": self.source,
            "summary": self.summary(),
            "tokens_spent": self.tokens_spent,
            "llm_cost": self.llm_cost.as_ref().map(LlmCost::to_json),
            "budget_tokens": self.budget_tokens,
            "runs": runs,
            "finding_changes": self.finding_changes.iter().map(FindingChange::to_json).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }
}

/// A relative link target that markdown cannot misread (spaces and parentheses encoded).
fn link_target(path: &str) -> String {
    path.replace('\\', "/").replace(' ', "%20").replace('(', "%28").replace(')', "%29").replace('<', "%3C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn night() -> NightDigest {
        NightDigest {
            date: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            started_at: "2026-11-30T02:00:00Z".into(),
            finished: true,
            source: "https://x.convex.cloud".into(),
            runs: vec![
                DigestRun {
                    run_id: "jn7aaaaaaaaaaaaaaaaa".into(),
                    model: "anthropic/claude-opus-4.6".into(),
                    experiment: "default".into(),
                    outcome: RunOutcome::Analyzed(AnalyzedRun {
                        passed: 18,
                        total: 20,
                        changes: "since jn6 (2026-11-29): 19/20 → 18/20 · 0 fixed · 1 new".into(),
                        fixed: vec![],
                        new_failures: vec!["000-fundamentals/003-crons".into()],
                        labels: vec![("MODEL_FAULT".into(), 2)],
                        report: "../anthropic/claude-opus-4.6/jn7aaaaa_2026-11-30.md".into(),
                        flagged: vec![Flagged {
                            eval_path: "000-fundamentals/003-crons".into(),
                            classification: Some("MODEL_FAULT".into()),
                            confidence: Some(0.8),
                            reasons: vec!["regression".into()],
                        }],
                        tokens: 1000,
                        llm_cost: None,
                        cost_usd: Some(1.25),
                    }),
                },
                DigestRun {
                    run_id: "jn7bbbbbbbbbbbbbbbbb".into(),
                    model: "openai/gpt-5|<b>".into(),
                    experiment: "default".into(),
                    outcome: RunOutcome::Left { why: "still running".into() },
                },
            ],
            notes: vec![],
            tokens_spent: 1000,
            llm_cost: None,
            budget_tokens: None,
            finding_changes: vec![FindingChange {
                id: "m-1a2b3c4d".into(),
                kind: crate::FindingKind::Model,
                subject: "anthropic/claude-opus-4.6 000-fundamentals/003-crons|<i>".into(),
                from: Some(crate::FindingState::New),
                to: Some(crate::FindingState::Recurring),
            }],
        }
    }

    #[test]
    fn a_section_names_runs_flags_and_what_was_left() {
        let text = night().render();
        assert!(text.contains("## Nightly started 2026-11-30T02:00:00Z\n"), "{text}");
        assert!(text.contains("1 analyzed, 1 left for later, 1 flagged for review"), "{text}");
        assert!(text.contains("[report](../anthropic/claude-opus-4.6/jn7aaaaa_2026-11-30.md)"), "{text}");
        assert!(text.contains("| `000-fundamentals/003-crons` | MODEL_FAULT | 0.80 | regression |"), "{text}");
        assert!(text.contains("### Left for the next night"), "{text}");
        assert!(text.contains("### Findings that changed state\n"), "{text}");
        assert!(
            text.contains("| `m-1a2b3c4d` | model | anthropic/claude-opus-4.6 000-fundamentals/003-crons\\|&lt;i&gt; | new | recurring |"),
            "{text}"
        );
        // Foreign text never breaks the table or brings HTML in.
        assert!(!text.contains("<b>") && text.contains("openai/gpt-5\\|&lt;b&gt;"), "{text}");
    }

    #[test]
    fn a_priced_night_says_what_its_tokens_cost() {
        let priced = |usd: Option<f64>| LlmCost { model: "gpt-4.1-mini".into(), usd, batch: false };
        let mut n = night();
        n.tokens_spent = 0;
        n.llm_cost = Some(priced(Some(0.0)));
        let mut run = match &n.runs[0].outcome {
            RunOutcome::Analyzed(a) => a.clone(),
            _ => unreachable!("the first run is analyzed"),
        };
        // 7,200 prompt and 900 completion tokens at $2 and $8 a million.
        run.tokens = 8_100;
        run.llm_cost = Some(priced(Some(0.0216)));
        n.add_spent(&run);
        n.add_spent(&run);
        n.runs[0].outcome = RunOutcome::Analyzed(run);
        let text = n.render();
        assert!(text.contains("LLM tokens spent: 16200 (~$0.0432).\n"), "{text}");
        let v = n.to_json();
        assert_eq!(v["tokens_spent"], 16_200);
        assert!((v["llm_cost"]["usd"].as_f64().unwrap() - 0.0432).abs() < 1e-12, "{v}");
        assert_eq!(v["llm_cost"]["priced"], true);
        assert_eq!(v["runs"][0]["llm_cost"]["usd"], 0.0216);
        // At batch price, and without a price: the figures stay in tokens and say so.
        n.llm_cost = Some(LlmCost { batch: true, ..priced(Some(0.0108)) });
        assert!(n.render().contains("LLM tokens spent: 16200 (~$0.0108 at batch price).\n"), "{}", n.render());
        n.llm_cost = Some(priced(None));
        assert!(n.render().contains("LLM tokens spent: 16200 (no price configured for `gpt-4.1-mini`).\n"));
        assert_eq!(n.to_json()["llm_cost"]["usd"], Value::Null);
        // The rules classifier spends nothing and prices nothing.
        n.llm_cost = None;
        assert!(n.render().contains("LLM tokens spent: 16200.\n"));
    }

    #[test]
    fn an_unfinished_night_says_so_and_the_json_matches() {
        let mut n = night();
        n.finished = false;
        assert!(n.render().contains("(in progress, or stopped before the end)"));
        let v = n.to_json();
        assert_eq!(v["runs"][0]["outcome"], "analyzed");
        assert_eq!(v["runs"][0]["flagged"][0]["reasons"][0], "regression");
        assert_eq!(v["runs"][1]["why"], "still running");
        assert_eq!(v["finished"], false);
        assert_eq!(v["finding_changes"][0]["from"], "new");
        assert_eq!(v["finding_changes"][0]["to"], "recurring");
        n.finding_changes.clear();
        assert!(!n.render().contains("Findings that changed state"), "no empty section");
    }
}
