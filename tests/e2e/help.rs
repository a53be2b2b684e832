//! The CLI's help, read from its clap definition: every after-help line fits an 80-column terminal
//! (clap would wrap an example mid-line), no default is said twice, and every option says what it is.

use clap::CommandFactory;
use evaltriage::Cli;

/// Every command and subcommand, depth first.
fn commands(command: &clap::Command) -> Vec<clap::Command> {
    let mut all = vec![command.clone()];
    for sub in command.get_subcommands() {
        all.extend(commands(sub));
    }
    all
}

#[test]
fn help_examples_fit_an_80_column_terminal_and_say_each_default_once() {
    for command in commands(&Cli::command()) {
        let name = command.get_name().to_owned();
        for text in [command.get_after_help(), command.get_after_long_help()].into_iter().flatten() {
            for line in text.to_string().lines() {
                assert!(line.chars().count() <= 78, "{name}: a help line clap would wrap: {line}");
            }
        }
        for arg in command.get_arguments() {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            if !arg.get_default_values().is_empty() {
                assert!(!help.contains("[default:"), "{name} --{}: the default twice: {help}", arg.get_id());
            }
            if !arg.is_hide_set() && !arg.is_positional() {
                assert!(!help.trim().is_empty(), "{name} --{} has no description", arg.get_id());
            }
        }
    }
}
