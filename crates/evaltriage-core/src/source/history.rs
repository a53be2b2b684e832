//! A model's complete runs as the deployment's leaderboard counts them:
//! `runs:leaderboardModelHistory {model, experiment?, limit}` answers, in one call, the model's
//! latest complete runs (every planned eval finished) of the **current benchmark version** in one
//! experiment, oldest first, each with its score and per-category scores. At most
//! [`MODEL_HISTORY_MAX`] runs; a run still going, failed, or of another benchmark version is not
//! among them. The baseline of an analysis (its runs' documents give the per-eval outcomes) and a
//! backfill reaching past `runs:listRuns`' 40 runs start from it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::ids::RunId;
use crate::source::convex::ConvexSource;
use crate::source::{SourceError, wire};

/// The most runs one `runs:leaderboardModelHistory` call returns.
pub const MODEL_HISTORY_MAX: u32 = 100;

/// One complete run of a model, as the leaderboard scores it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredRun {
    pub run_id: RunId,
    pub created_at_ms: f64,
    /// Passed over finished evals, infrastructure and rate-limit failures left out (0 to 1).
    pub total_score: Option<f64>,
    /// The same per category.
    pub scores: BTreeMap<String, f64>,
}

impl ConvexSource {
    /// The latest `limit` (at most [`MODEL_HISTORY_MAX`]) complete runs of the model with this slug
    /// in `experiment` (`default` for runs that name none), oldest first.
    pub async fn model_history(
        &self,
        model: &str,
        experiment: &str,
        limit: u32,
    ) -> Result<Vec<ScoredRun>, SourceError> {
        let mut args = serde_json::Map::new();
        args.insert("model".into(), json!(model));
        // The deployment knows the default experiment as "no experiment" and rejects its name.
        if experiment != "default" {
            args.insert("experiment".into(), json!(experiment));
        }
        args.insert("limit".into(), json!(limit.clamp(1, MODEL_HISTORY_MAX)));
        let answer = self.query("runs:leaderboardModelHistory", Value::Object(args)).await?;
        let mut runs = wire::scored_runs_from_value(answer).map_err(SourceError::Malformed)?;
        runs.sort_by(|a, b| a.created_at_ms.total_cmp(&b.created_at_ms));
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_with_int64_strings_and_unknown_fields() {
        let value = json!([
            {"_creationTime": 1.7e12, "runId": "jn7aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "totalScore": 0.75,
             "scores": {"000-fundamentals": 1.0, "001-data": "0.5"}, "extra": true},
            {"_creationTime": "1700000000001", "runId": "jn7bbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "totalScore": 0.5, "scores": {}}
        ]);
        let runs = wire::scored_runs_from_value(value).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].total_score, Some(0.75));
        assert_eq!(runs[0].scores["001-data"], 0.5);
        assert_eq!(runs[1].created_at_ms, 1_700_000_000_001.0);
    }

    #[test]
    fn a_malformed_row_names_its_field() {
        let err = wire::scored_runs_from_value(json!([{"_creationTime": 1.0, "runId": 7}])).unwrap_err();
        assert!(err.contains("runId"), "{err}");
        assert!(wire::scored_runs_from_value(json!({"page": []})).is_err());
    }
}
