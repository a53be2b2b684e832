//! Picking the source a target is read from: a local path, the configured store, or the Convex
//! deployment.

use evaltriage_core::source::{ConvexConfig, ConvexSource, RunFilter, RunHeader, Source, SourceError, StoreSource};
use evaltriage_core::{EvalId, Evidence, Run, RunRef, Target, parse_target};

use crate::error::Error;
use crate::settings::Settings;

/// The source a command reads from.
#[derive(Debug)]
pub enum AnySource {
    Convex(ConvexSource),
    Store(StoreSource),
}

impl AnySource {
    /// Where the run comes from, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Convex(c) => c.url().to_owned(),
            Self::Store(s) => format!("store {}", s.root().display()),
        }
    }
}

impl Source for AnySource {
    async fn run(&self, run: &RunRef) -> Result<Run, SourceError> {
        match self {
            Self::Convex(c) => c.run(run).await,
            Self::Store(s) => s.run(run).await,
        }
    }

    async fn evidence(&self, run: &Run, eval: &EvalId) -> Result<Evidence, SourceError> {
        match self {
            Self::Convex(c) => c.evidence(run, eval).await,
            Self::Store(s) => s.evidence(run, eval).await,
        }
    }

    async fn runs(&self, filter: &RunFilter) -> Result<Vec<RunHeader>, SourceError> {
        match self {
            Self::Convex(c) => c.runs(filter).await,
            Self::Store(s) => s.runs(filter).await,
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
            let (store, run) = StoreSource::open_target(&path)?;
            Ok((AnySource::Store(store), run))
        }
        Target::Run(run) => Ok((configured(settings)?, run)),
    }
}

/// The source the settings name for runs given by id: the store, else the Convex deployment.
pub fn configured(settings: &Settings) -> Result<AnySource, Error> {
    Ok(match &settings.store {
        Some(dir) => AnySource::Store(StoreSource::open(dir)?),
        None => AnySource::Convex(convex(settings)?),
    })
}
