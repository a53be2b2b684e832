//! Commands the tool prints for a person to paste (`next:` hints, `files:` lines): every argument
//! quoted for a POSIX shell, the run named in full, and the options that chose where the run was
//! read from carried along, so that each one runs as printed.

use evaltriage_core::{RunId, Target, parse_target};

use evaltriage_pipeline::Settings;

/// Quotes one argument for a POSIX shell: left as it is when it holds only characters no shell
/// treats specially, else single-quoted (a `'` inside becomes `'\''`).
pub fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '@' | '%' | '+' | '=' | ':' | ',' | '.' | '/' | '_' | '-')
        });
    if plain { arg.to_owned() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
}

/// How to name a run again in a printed command: the local path it was read from, or its full id
/// with the options that chose the store or deployment (never a key).
#[derive(Debug, Clone)]
pub struct RunAddress {
    target: String,
    options: Vec<String>,
}

impl RunAddress {
    /// The address of the run `run_id`, which the user gave as `target`.
    pub fn new(target: &str, run_id: &RunId, settings: &Settings) -> Self {
        let mut options = Vec::new();
        let target = match parse_target(target) {
            Ok(Target::Path(_)) => target.to_owned(),
            _ => {
                if let Some(store) = &settings.store {
                    options.push("--store".to_owned());
                    options.push(store.display().to_string());
                } else if settings.convex_url.trim() != evaltriage_core::source::DEFAULT_CONVEX_URL {
                    options.push("--convex-url".to_owned());
                    options.push(settings.convex_url.trim().to_owned());
                }
                run_id.as_str().to_owned()
            }
        };
        if let Some(config) = &settings.config_file {
            options.push("--config".to_owned());
            options.push(config.display().to_string());
        }
        Self { target, options }
    }

    /// `evaltriage <command...> <run> <args...> <options...>`, quoted.
    pub fn command(&self, command: &[&str], args: &[&str]) -> String {
        let mut words: Vec<String> = vec!["evaltriage".to_owned()];
        words.extend(command.iter().map(|w| (*w).to_owned()));
        words.push(shell_quote(&self.target));
        words.extend(args.iter().map(|a| shell_quote(a)));
        words.extend(self.options.iter().map(|o| shell_quote(o)));
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_safe_for_a_posix_shell() {
        assert_eq!(shell_quote("001-data_modeling/005-chat_schema"), "001-data_modeling/005-chat_schema");
        assert_eq!(shell_quote("run.log"), "run.log");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("x|y"), "'x|y'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_quote(""), "''");
    }
}
