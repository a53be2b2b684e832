//! evaltriage's domain model: runs, evals, steps and failures; targets; the run's shape; verdicts;
//! the sources runs are read from (the Convex HTTP API and a local store); and the HTTP retry rule
//! every client follows.
//!
//! Nothing here knows about LLMs, terminals or markdown.

pub mod environment;
pub mod evidence;
pub mod fsread;
pub mod ids;
pub mod known_gap;
pub mod lint;
pub mod model;
pub mod redact;
pub mod retry;
pub mod run_failure;
pub mod sample;
pub mod shape;
pub mod signature;
pub mod source;
pub mod step;
pub mod target;
pub mod text;
pub mod threads;
pub mod usage;
pub mod verdict;

pub use evidence::{Evidence, EvidencePart, EvidenceProblem, FileContent, FileSet};
pub use ids::{EvalId, EvalPath, RunId, StorageId};
pub use known_gap::{KnownGapRecord, KnownGaps};
pub use model::{
    Eval, EvalStatus, Failure, FailureKind, InfraCause, Run, RunStatus, SourceChange, Step, StepName, StepStatus,
};
pub use run_failure::{RunFailure, RunFailureKind};
pub use sample::{SampleEvidence, ScoreDetail, TranscriptMessage};
pub use shape::{Cluster, Shape};
pub use signature::FailureSignature;
pub use target::{RunRef, Target, TargetError, parse_target};
pub use usage::{RunUsage, Usage};
pub use verdict::{Classification, ReusedFrom, TokenUsage, Verdict, VerdictOrigin, VerdictStatus};
