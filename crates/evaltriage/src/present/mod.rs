//! Text for people from what the pipeline returns: shared by the CLI commands and the MCP tools,
//! so both say the same thing. (JSON comes from the pipeline's own data.)

pub mod analyze;
pub mod evals;
pub mod findings;
pub mod markdown_terminal;
pub mod reports;
pub mod runs;
