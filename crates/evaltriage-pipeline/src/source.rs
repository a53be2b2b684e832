//! Picking the source a target is read from: a local path (a store, a run file, an Inspect log or
//! a folder holding one), the configured store, or the Convex deployment.

use evaltriage_core::source::{
    ConvexConfig, ConvexSource, InspectSource, RunFilter, RunHeader, Source, SourceError, StoreSource,
    inspect_log_format, logs_in,
};
use evaltriage_core::{EvalId, Evidence, Run, RunId, RunRef, Target, parse_target};

use crate::error::Error;
use crate::settings::Settings;

/// The source a command reads from.
#[derive(Debug)]
pub enum AnySource {
    Convex(ConvexSource),
    Store(StoreSource),
    Inspect(InspectSource),
}

impl AnySource {
    /// Where the run comes from, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Convex(c) => c.url().to_owned(),
            Self::Store(s) => format!("store {}", s.root().display()),
            Self::Inspect(s) => format!("Inspect log {}", s.path().display()),
        }
    }
}

impl Source for AnySource {
    async fn run(&self, run: &RunRef) -> Result<Run, SourceError> {
        match self {
            Self::Convex(c) => c.run(run).await,
            Self::Store(s) => s.run(run).await,
            Self::Inspect(s) => s.run(run).await,
        }
    }

    async fn evidence(&self, run: &Run, eval: &EvalId) -> Result<Evidence, SourceError> {
        match self {
            Self::Convex(c) => c.evidence(run, eval).await,
            Self::Store(s) => s.evidence(run, eval).await,
            Self::Inspect(s) => s.evidence(run, eval).await,
        }
    }

    async fn runs(&self, filter: &RunFilter) -> Result<Vec<RunHeader>, SourceError> {
        match self {
            Self::Convex(c) => c.runs(filter).await,
            Self::Store(s) => s.runs(filter).await,
            Self::Inspect(s) => s.runs(filter).await,
        }
    }
}

/// Builds the Convex source from the settings.
pub fn convex(settings: &Settings) -> Result<ConvexSource, Error> {
    let url = settings.convex_url.trim();
    // The value is never echoed: it may carry a password (`user:PASS@host`, with or without a
    // scheme) that no parser recognised as one.
    let not_http = || Error::bad_input("the Convex URL is not an http(s) URL (https://<deployment>.convex.cloud)");
    let parsed = url::Url::parse(url).map_err(|_| not_http())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(not_http());
    }
    let mut config = ConvexConfig::new(url);
    config.deploy_key = settings.convex_key.clone();
    match settings.max_blob_mb {
        Some(mb) if (1..=4096).contains(&mb) => config.max_blob_bytes = mb << 20,
        Some(mb) => return Err(Error::bad_input(format!("config key max_blob_mb must be from 1 to 4096, got {mb}"))),
        None => {}
    }
    Ok(ConvexSource::new(config)?)
}

/// Parses a target and opens the source it is read from.
pub fn open(target: &str, settings: &Settings) -> Result<(AnySource, RunRef), Error> {
    match parse_target(target)? {
        Target::Path(path) => {
            if let Some(log) = inspect_log_in(&path)? {
                let (source, run) = InspectSource::open(&log)?;
                return Ok((AnySource::Inspect(source), run));
            }
            let (store, run) = StoreSource::open_target(&path)?;
            Ok((AnySource::Store(store), run))
        }
        Target::Run(run) => Ok((configured(settings)?, run)),
    }
}

/// The Inspect log a path names: the file itself, or the one log of a folder that is not a store
/// (a folder of several logs is the user's to choose from).
fn inspect_log_in(path: &std::path::Path) -> Result<Option<std::path::PathBuf>, Error> {
    if !path.is_dir() {
        return Ok(inspect_log_format(path).map(|_| path.to_path_buf()));
    }
    if path.join("runs").is_dir() {
        return Ok(None);
    }
    let logs = logs_in(path)?;
    match logs.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        many => Err(Error::bad_input(format!(
            "{} holds {} Inspect logs; name one: {}",
            path.display(),
            many.len(),
            many.iter()
                .take(5)
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The source of the run `run_id`: with `--logs`, the log of the folder that is that run (each
/// log's header read; a finished log before an incomplete one of the same run, such as the
/// journal a killed attempt left); else [`configured`].
pub async fn for_run(settings: &Settings, run_id: &RunId) -> Result<AnySource, Error> {
    let Some(dir) = &settings.logs else { return configured(settings) };
    let mut unfinished = None;
    for path in logs_in(dir)? {
        let Ok((log, run)) = InspectSource::open(&path) else { continue };
        if &run.run_id != run_id {
            continue;
        }
        let finished = log.runs(&RunFilter::default()).await.is_ok_and(|h| h.iter().all(RunHeader::is_finished));
        if finished {
            return Ok(AnySource::Inspect(log));
        }
        unfinished.get_or_insert(log);
    }
    if let Some(log) = unfinished {
        return Ok(AnySource::Inspect(log));
    }
    Err(Error::new(crate::error::ErrorKind::NotFound, format!("no Inspect log of run {run_id} in {}", dir.display())))
}

/// The source the settings name for runs given by id: the store, else the Convex deployment.
pub fn configured(settings: &Settings) -> Result<AnySource, Error> {
    Ok(match &settings.store {
        Some(dir) => AnySource::Store(StoreSource::open(dir)?),
        None => AnySource::Convex(convex(settings)?),
    })
}
