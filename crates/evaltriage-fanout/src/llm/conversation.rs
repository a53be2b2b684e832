//! The validate-and-ask-again conversation about one failed eval: ask, validate the answer, and
//! ask again with the reason, within the token budget; keep a salvaged label when only droppable
//! fields were wrong, and never guess one.

use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage,
};
use evaltriage_core::{Verdict, VerdictOrigin, VerdictStatus};

use super::{Ask, CallError, LlmClient};
use crate::answer::{Answer, Rejection, validate};
use crate::budget::{Budget, call_cost};
use crate::dispatch::{ProgressEvent, Reporter};
use crate::prompt::Prompts;
use crate::rules::base_verdict;
use crate::selection::SelectedEvidence;
use crate::{Case, MaxRetries};

impl LlmClient {
    /// Analyses one case: asks, validates, and asks again with the reason, up to `max_retries`
    /// times. Never returns a guessed label: after the last try the verdict is an error, unless
    /// an answer's only defects were an unverifiable snippet or an out-of-range confidence, which
    /// are then dropped (and that recorded) while its valid label is kept.
    pub(crate) async fn analyze(
        &self,
        case: &Case,
        evidence: &SelectedEvidence,
        prompts: &Prompts,
        max_retries: MaxRetries,
        reporter: &Reporter,
        budget: &Budget,
    ) -> Verdict {
        let failure = &case.failure;
        let eval_path = failure.eval_path.as_str();
        let (system, user) = prompts.render_analysis(case, evidence);
        let mut messages: Vec<ChatCompletionRequestMessage> = vec![
            ChatCompletionRequestSystemMessage::from(system).into(),
            ChatCompletionRequestUserMessage::from(user).into(),
        ];
        let mut verdict =
            base_verdict(failure, VerdictStatus::Error, VerdictOrigin::Llm { model: self.config.model.clone() });
        let max = u32::from(max_retries.get());
        let mut last_reason = String::new();
        // The latest answer whose only defect was a snippet not found in the evidence.
        let mut salvage: Option<Box<Answer>> = None;
        // Set once an answer is cut off at the answer cap: later attempts bound the text fields.
        let mut cut_off = false;
        for attempt in 0..=max {
            if attempt > 0 {
                reporter.send(ProgressEvent::Retried {
                    eval_path: failure.eval_path.clone(),
                    attempt,
                    reason: last_reason.clone(),
                });
            }
            verdict.retry_count = attempt;
            // The hard token cap: this attempt starts only if its worst case fits.
            let cost = call_cost(&messages, self.config.max_completion_tokens);
            if let Err(over) = budget.reserve(cost) {
                if let Some(answer) = salvage.take() {
                    tracing::info!(
                        eval = eval_path,
                        "{over}; kept the label of the last answer whose only defects were dropped"
                    );
                    accept_answer(&mut verdict, *answer);
                    return verdict;
                }
                verdict.status = VerdictStatus::Skipped;
                verdict.reasoning = if attempt == 0 {
                    over.to_string()
                } else {
                    format!("{over} (before retry {attempt}; last problem: {last_reason})")
                };
                return verdict;
            }
            let result = self.chat(&messages, Ask::Verdict { eval_path, bounded: cut_off }).await;
            budget.settle(cost, result.as_ref().map_or(0, |c| c.usage.total()));
            let completion = match result {
                Ok(c) => c,
                Err(CallError::BadResponse(reason)) => {
                    last_reason = reason;
                    continue;
                }
                Err(CallError::Failed(reason) | CallError::AuthRefused(reason)) => {
                    verdict.reasoning = format!("the LLM call failed: {reason}");
                    return verdict;
                }
            };
            verdict.tokens += completion.usage;
            let content = completion.content.unwrap_or_default();
            let outcome: Result<Answer, Rejection> =
                if let Some(refusal) = completion.refusal.filter(|r| !r.trim().is_empty()) {
                    Err(format!("the model refused to answer: {}", refusal.trim()).into())
                } else if completion.finish_reason.as_deref() == Some("length") {
                    cut_off = true;
                    Err("the answer was cut off (finish_reason: length); answer with a shorter JSON object".into())
                } else {
                    validate(&content, eval_path, &evidence.text)
                };
            match outcome {
                Ok(answer) => {
                    accept_answer(&mut verdict, answer);
                    return verdict;
                }
                Err(rejection) => {
                    tracing::debug!(eval = eval_path, attempt, reason = %rejection.reason, "answer rejected");
                    if rejection.salvage.is_some() {
                        salvage = rejection.salvage;
                    }
                    if !content.trim().is_empty() {
                        messages.push(ChatCompletionRequestAssistantMessage::from(content).into());
                    }
                    messages.push(
                        ChatCompletionRequestUserMessage::from(format!(
                            "Your answer was rejected: {}. Answer again about eval {eval_path} with one JSON \
                             object that matches the schema.",
                            rejection.reason
                        ))
                        .into(),
                    );
                    last_reason = rejection.reason;
                }
            }
        }
        if let Some(answer) = salvage {
            tracing::info!(
                eval = eval_path,
                "kept the label of the last answer whose only defects were dropped: {}",
                answer.dropped.join("; ")
            );
            accept_answer(&mut verdict, *answer);
            return verdict;
        }
        verdict.reasoning = format!("no valid answer after {} attempts; last problem: {last_reason}", max + 1);
        verdict
    }
}

/// Fills a verdict from an accepted answer; snippets that were dropped are recorded in the
/// reasoning, so the report says why a snippet is missing.
pub(crate) fn accept_answer(verdict: &mut Verdict, answer: Answer) {
    verdict.status = VerdictStatus::Done;
    verdict.classification = Some(answer.classification);
    if !answer.error.trim().is_empty() {
        verdict.error = answer.error.trim().chars().take(300).collect();
    }
    let mut reasoning = answer.reasoning.trim().to_owned();
    for note in &answer.dropped {
        reasoning.push_str(&format!(" ({note}.)"));
    }
    verdict.reasoning = reasoning;
    verdict.model_snippet = answer.model_snippet;
    verdict.expected_snippet = answer.expected_snippet;
    verdict.confidence = answer.confidence;
}
