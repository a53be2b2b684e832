//! Evidence selection for a scored sample (an Inspect log): no steps and no zips, but the
//! scorer's verdict and explanation whole, the target, the model's final answer, the transcript cut
//! around the turns that matter (the last assistant turns, tool calls that failed, the limit's
//! last turns), and the input — each with a share of the per-call budget, cuts marked.

use evaltriage_core::SampleEvidence;
use evaltriage_core::sample::TranscriptMessage;

use super::text::{clip_chars, cut_to_tokens, inline_code};
use super::{SelectedEvidence, estimate_tokens, fence};
use crate::Case;

/// What the four labels mean for a question-and-answer benchmark.
const LABELS: &str = "- how the labels read here: MODEL_FAULT, the answer is wrong and the target and scorer are \
fair; OVERLY_STRICT, the target or the scorer rejects a right answer (a format, a synonym, an equivalent value); \
AMBIGUOUS_TASK, the input admits the model's reading; KNOWN_GAP, a prior report already calls this sample one\n";

/// The assistant turns always kept from the end of a transcript.
const LAST_ASSISTANT_TURNS: usize = 2;

/// Tokens a kept message costs beyond its text: the blank line and the "left out" marker it may
/// bring.
const MESSAGE_OVERHEAD: usize = 12;

/// Sections in the order they are rendered, with the share of the budget each is sure to get.
const SCORER: usize = 0;
const TARGET: usize = 1;
const ANSWER: usize = 2;
const TRANSCRIPT: usize = 3;
const INPUT: usize = 4;
const SHARES: [usize; 5] = [22, 8, 15, 40, 15];

/// Selects and renders the evidence of a failed sample within `budget_tokens`.
pub(super) fn select_sample_evidence(case: &Case, sample: &SampleEvidence, budget_tokens: usize) -> SelectedEvidence {
    let failure = &case.failure;
    let mut header = format!(
        "### Failure\n- eval: {}\n- benchmark: {}\n- failed step: none (a scored sample has no pipeline steps)\n",
        failure.eval_path, sample.benchmark
    );
    header.push_str(&format!("- eval failure reason: {}\n", inline_code(&clip_chars(failure.reason.trim(), 300))));
    if let Some(limit) = &sample.limit {
        header.push_str(&format!(
            "- the sample was stopped by a limit: {} (tell a model that looped or wandered from a limit set too \
             tight or a tool that never returned)\n",
            inline_code(&clip_chars(limit, 300))
        ));
    }
    for s in &sample.scores {
        let marks = match s.full_marks {
            Some(true) => "full marks",
            Some(false) => "not full marks",
            None => "not readable as marks",
        };
        let headline = if sample.headline_scorer.as_deref() == Some(s.scorer.as_str()) { "headline " } else { "" };
        header.push_str(&format!(
            "- {headline}scorer {}: {} ({marks})\n",
            s.scorer,
            inline_code(&clip_chars(&s.value, 80))
        ));
    }
    if !sample.error_retries.is_empty() {
        let errors: Vec<String> = sample.error_retries.iter().take(3).map(|e| clip_chars(e, 200)).collect();
        header.push_str(&format!(
            "- retried after {} error{} (infrastructure): {}\n",
            sample.error_retries.len(),
            if sample.error_retries.len() == 1 { "" } else { "s" },
            inline_code(&errors.join("; "))
        ));
    }
    for record in case.known_gaps.iter().take(5) {
        header.push_str(&format!("- known gap: this eval is {}\n", clip_chars(&record.describe(), 300)));
    }
    header.push_str(LABELS);

    let scorer_body = sample.scores_text();
    let answer = sample.answer.clone().unwrap_or_default();
    let transcript_need: usize = sample.messages.iter().map(|m| estimate_tokens(&m.render()) + MESSAGE_OVERHEAD).sum();
    let bodies = [&scorer_body, &sample.target, &answer, "", &sample.input];
    let mut needs: Vec<usize> = bodies.iter().map(|b| estimate_tokens(b)).collect();
    needs[TRANSCRIPT] = transcript_need;
    let overhead = estimate_tokens(&header) + 12 * SHARES.len();
    let available = budget_tokens.saturating_sub(overhead).max(200);
    let given = allot(&needs, available);

    let mut cut_lines = 0;
    let mut text = header;
    push_section(
        &mut text,
        &mut cut_lines,
        "The scorers' verdicts (value, answer, explanation; from the sample, whole)",
        &scorer_body,
        given[SCORER],
        0.3,
    );
    push_section(&mut text, &mut cut_lines, "Target", &sample.target, given[TARGET], 0.3);
    push_section(&mut text, &mut cut_lines, "The model's final answer", &answer, given[ANSWER], 0.5);
    let (excerpt, left_out, cut) = transcript_excerpt(&sample.messages, given[TRANSCRIPT]);
    cut_lines += cut;
    if !excerpt.is_empty() {
        let title = if left_out > 0 {
            format!(
                "Transcript (the turns that matter; {left_out} other message{} left out)",
                if left_out == 1 { "" } else { "s" }
            )
        } else {
            "Transcript".to_owned()
        };
        text.push_str(&format!("\n### {title}\n{}", fence(&excerpt, "text")));
    }
    push_section(&mut text, &mut cut_lines, "Input", &sample.input, given[INPUT], 0.3);
    if sample.answer.is_none() {
        text.push_str("\nThe sample has no final answer (the model produced no completion).\n");
    }
    SelectedEvidence { text, cut_lines }
}

/// Appends a fenced section cut to `share` tokens (nothing for an empty body).
fn push_section(text: &mut String, cut_lines: &mut usize, title: &str, body: &str, share: usize, tail: f32) {
    if body.trim().is_empty() {
        return;
    }
    let (body, cut) = cut_to_tokens(body, share, tail);
    *cut_lines += cut;
    text.push_str(&format!("\n### {title}\n{}", fence(&body, "text")));
}

/// Each section its share (or less, if it needs less), then what is left to those still cut,
/// in order.
fn allot(needs: &[usize], budget: usize) -> Vec<usize> {
    let mut given: Vec<usize> =
        needs.iter().zip(SHARES).map(|(need, share)| (*need).min(budget * share / 100)).collect();
    let mut left = budget.saturating_sub(given.iter().sum());
    for (g, need) in given.iter_mut().zip(needs) {
        let more = need.saturating_sub(*g).min(left);
        *g += more;
        left -= more;
    }
    given
}

/// The transcript within `budget` tokens: the decisive messages (the last assistant turns, every
/// tool error with the call before it, the last message) first, then the others from the end; the
/// messages left out are said where they were. Returns the excerpt, the messages left out and the
/// lines cut inside messages.
fn transcript_excerpt(messages: &[TranscriptMessage], budget: usize) -> (String, usize, usize) {
    if messages.is_empty() {
        return (String::new(), 0, 0);
    }
    let rendered: Vec<String> = messages.iter().map(TranscriptMessage::render).collect();
    let mut priority: Vec<usize> = Vec::new();
    let assistants: Vec<usize> = (0..messages.len()).filter(|&i| messages[i].role == "assistant").collect();
    priority.extend(assistants.iter().rev().take(LAST_ASSISTANT_TURNS));
    for (i, m) in messages.iter().enumerate() {
        if m.tool_error.is_some() {
            priority.push(i);
            if i > 0 {
                priority.push(i - 1);
            }
        }
    }
    priority.push(messages.len() - 1);
    priority.extend((0..messages.len()).rev().filter(|&i| messages[i].is_decisive()));
    priority.extend((0..messages.len()).rev().filter(|&i| messages[i].role != "system"));
    priority.extend((0..messages.len()).rev());
    let mut seen = vec![false; messages.len()];
    priority.retain(|&i| !std::mem::replace(&mut seen[i], true));

    // A message gets at most half the budget (a runaway tool output is cut, not the rest).
    let per_message = (budget / 2).max(60);
    let mut kept = vec![None; messages.len()];
    let mut spent = 0;
    let mut cut_lines = 0;
    for &i in &priority {
        let (text, cut) = cut_to_tokens(&rendered[i], per_message, 0.3);
        let cost = estimate_tokens(&text) + MESSAGE_OVERHEAD;
        if spent + cost > budget && kept.iter().any(Option::is_some) {
            continue;
        }
        spent += cost;
        cut_lines += cut;
        kept[i] = Some(text);
    }
    let mut out = String::new();
    let mut gap = 0;
    let mut left_out = 0;
    for piece in &kept {
        match piece {
            None => gap += 1,
            Some(text) => {
                if gap > 0 {
                    out.push_str(&format!("[... {gap} message{} left out ...]\n\n", if gap == 1 { "" } else { "s" }));
                    left_out += gap;
                    gap = 0;
                }
                out.push_str(text.trim_end());
                out.push_str("\n\n");
            }
        }
    }
    if gap > 0 {
        out.push_str(&format!("[... {gap} message{} left out ...]\n", if gap == 1 { "" } else { "s" }));
        left_out += gap;
    }
    (out.trim_end().to_owned(), left_out, cut_lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: &str, text: &str) -> TranscriptMessage {
        TranscriptMessage { role: role.into(), text: text.into(), ..TranscriptMessage::default() }
    }

    #[test]
    fn a_long_transcript_keeps_the_last_turns_and_the_tool_errors() {
        let mut messages = vec![msg("system", "be brief"), msg("user", "question")];
        for i in 0..40 {
            messages.push(msg("assistant", &format!("step {i}: calling the tool with a long argument list")));
            let mut result = msg("tool", &format!("result {i}: {}", "data ".repeat(40)));
            if i == 3 {
                result.tool_error = Some("timeout: the tool never returned".into());
            }
            messages.push(result);
        }
        messages.push(msg("assistant", "final answer: 42"));
        let (excerpt, left_out, _) = transcript_excerpt(&messages, 600);
        assert!(excerpt.contains("final answer: 42"), "{excerpt}");
        assert!(excerpt.contains("step 39"), "{excerpt}");
        assert!(excerpt.contains("!! tool error: timeout: the tool never returned"), "{excerpt}");
        assert!(excerpt.contains("step 3:"), "the call before the error: {excerpt}");
        assert!(left_out > 40 && excerpt.contains("messages left out ..."), "{left_out}");
        assert!(estimate_tokens(&excerpt) <= 600, "{}", estimate_tokens(&excerpt));
        let (all, none_left, _) = transcript_excerpt(&messages[..4], 10_000);
        assert_eq!(none_left, 0);
        assert!(all.starts_with("[system]\nbe brief"), "{all}");
    }

    #[test]
    fn a_small_budget_keeps_the_verdict_and_says_what_it_cut() {
        use evaltriage_core::{EvalId, EvalPath, Evidence, Failure, FailureKind, ScoreDetail};
        let sample = SampleEvidence {
            benchmark: "an Inspect AI evaluation".into(),
            input: format!("question {}", "context line\n".repeat(400)),
            target: "42".into(),
            answer: Some("41".into()),
            headline_scorer: Some("match".into()),
            scores: vec![ScoreDetail {
                scorer: "match".into(),
                value: "I".into(),
                full_marks: Some(false),
                answer: Some("41".into()),
                explanation: Some("41 is not 42".into()),
            }],
            limit: Some("token limit of 1000 reached".into()),
            messages: (0..60)
                .map(|i| {
                    msg(if i % 2 == 0 { "assistant" } else { "tool" }, &format!("turn {i}\n{}", "x y z\n".repeat(30)))
                })
                .collect(),
            ..SampleEvidence::default()
        };
        let case = Case {
            failure: Failure {
                eval_id: EvalId::new("s1").unwrap(),
                eval_path: EvalPath::new("task/1"),
                failed_step: None,
                kind: FailureKind::Verification,
                reason: "token limit of 1000 reached (match scored I)".into(),
                step_error: None,
            },
            evidence: Evidence { sample: Some(sample), ..Evidence::default() },
            prior_label: None,
            known_gaps: Vec::new(),
            grader_suspect: None,
        };
        let selected = super::super::select_evidence(&case, 1_500);
        let text = &selected.text;
        for s in ["41 is not 42", "token limit of 1000 reached", "turn 59", "messages left out", "lines cut"] {
            assert!(text.contains(s), "{s} in {text}");
        }
        assert!(selected.cut_lines > 0);
        assert!(estimate_tokens(text) < 1_900, "{}", estimate_tokens(text));
    }
}
