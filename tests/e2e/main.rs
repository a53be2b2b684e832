//! End-to-end tests of the evaltriage CLI: the real binary against local stand-ins for a Convex
//! deployment and an OpenAI-compatible endpoint, and fixture stores.

mod analyze;
mod common;
mod faces_hardening;
mod hardening;
mod inspect;
mod llm_robustness;
mod mcp;
mod nightly;
mod readme;
mod real_llm;
mod review;
mod schedule;
mod secrets;
mod site;
mod source_limits;
mod tidy;
mod triage;
mod trust;
