//! End-to-end tests of the evaltriage CLI: the real binary against local stand-ins for a Convex
//! deployment and an OpenAI-compatible endpoint, and fixture stores.

mod across;
mod analyze;
mod backfill;
mod common;
mod faces_hardening;
mod hardening;
mod help;
mod hostile;
mod inspect;
mod llm_robustness;
mod mcp;
mod new_user;
mod night_outputs;
mod nightly;
mod prices;
mod readme;
mod real_llm;
mod review;
mod schedule;
mod secrets;
mod site;
mod source_limits;
mod tidy;
mod today;
mod triage;
mod trust;
