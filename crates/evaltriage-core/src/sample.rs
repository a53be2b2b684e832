//! The evidence of one scored sample of a question-and-answer benchmark (an Inspect AI log): the
//! input, the target, the model's final answer, each scorer's verdict and explanation, the limit
//! that stopped it, and the transcript with its tool calls and tool results.
//!
//! Plain data built by a source; `evaltriage-fanout` picks and budgets what of it goes to an LLM.

use std::fmt::Write as _;

/// Everything read for one failed sample (one epoch of it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SampleEvidence {
    /// What kind of benchmark this is, in one line, for the prompt.
    pub benchmark: String,
    /// The task the sample belongs to.
    pub task: String,
    /// The sample's id as the log writes it (a string or an integer).
    pub sample_id: String,
    pub epoch: u32,
    /// The input (the question, or the input messages as text).
    pub input: String,
    /// The target (several targets joined by newlines).
    pub target: String,
    /// The model's final answer (the output's completion).
    pub answer: Option<String>,
    /// The scorer whose marks decide pass or fail.
    pub headline_scorer: Option<String>,
    /// Every scorer's verdict, the headline scorer first.
    pub scores: Vec<ScoreDetail>,
    /// The limit that stopped the sample (`message limit of 6 reached: ...`), when one did.
    pub limit: Option<String>,
    /// Errors the sample was retried after, one line each (message and the traceback's last line).
    pub error_retries: Vec<String>,
    /// The transcript, in order.
    pub messages: Vec<TranscriptMessage>,
}

/// One scorer's verdict on a sample.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoreDetail {
    pub scorer: String,
    /// The value as written (`C`, `I`, `P`, `N`, a number, a boolean, or JSON for a dict).
    pub value: String,
    /// Whether the value is full marks; `None` when it cannot be read as marks.
    pub full_marks: Option<bool>,
    /// What the scorer took as the model's answer.
    pub answer: Option<String>,
    /// The scorer's explanation, whole.
    pub explanation: Option<String>,
}

/// One message of a transcript.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TranscriptMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The text of the message (reasoning blocks marked; media named, not included).
    pub text: String,
    /// The tool calls an assistant message makes.
    pub tool_calls: Vec<ToolCallText>,
    /// For a tool result: the tool's name.
    pub function: Option<String>,
    /// For a tool result: the error the tool returned (`type: message`).
    pub tool_error: Option<String>,
}

/// A tool call: the function and its arguments as JSON.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolCallText {
    pub function: String,
    pub arguments: String,
}

impl TranscriptMessage {
    /// Whether this message matters most to a triage: an assistant's turn or a tool error.
    pub fn is_decisive(&self) -> bool {
        self.role == "assistant" || self.tool_error.is_some()
    }

    /// The message as readable text: a `[role]` header line, the text, the tool calls and the
    /// tool error. Control characters are left for the caller's sanitiser.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match (&self.function, self.role.as_str()) {
            (Some(f), "tool") => {
                let _ = writeln!(out, "[tool result: {f}]");
            }
            _ => {
                let _ = writeln!(out, "[{}]", self.role);
            }
        }
        if !self.text.trim().is_empty() {
            out.push_str(self.text.trim_end());
            out.push('\n');
        }
        for call in &self.tool_calls {
            let _ = writeln!(out, "-> tool call {}({})", call.function, call.arguments);
        }
        if let Some(error) = &self.tool_error {
            let _ = writeln!(out, "!! tool error: {error}");
        }
        out
    }
}

impl SampleEvidence {
    /// The whole transcript as readable text, one message after another.
    pub fn transcript(&self) -> String {
        self.messages.iter().map(TranscriptMessage::render).collect::<Vec<_>>().join("\n")
    }

    /// The scorers' verdicts as readable text: value, answer and explanation of each.
    pub fn scores_text(&self) -> String {
        let mut out = String::new();
        for s in &self.scores {
            let headline = if self.headline_scorer.as_deref() == Some(s.scorer.as_str()) { " (headline)" } else { "" };
            let _ = writeln!(out, "{}{headline}: {}", s.scorer, s.value);
            if let Some(answer) = &s.answer {
                let _ = writeln!(out, "  answer: {answer}");
            }
            if let Some(explanation) = &s.explanation {
                let _ = writeln!(out, "  explanation: {explanation}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_render_their_calls_and_errors() {
        let call = TranscriptMessage {
            role: "assistant".into(),
            text: "looking it up".into(),
            tool_calls: vec![ToolCallText { function: "lookup".into(), arguments: r#"{"city":"Lima"}"#.into() }],
            ..TranscriptMessage::default()
        };
        let result = TranscriptMessage {
            role: "tool".into(),
            function: Some("lookup".into()),
            tool_error: Some("unknown: HTTP 503".into()),
            ..TranscriptMessage::default()
        };
        assert_eq!(call.render(), "[assistant]\nlooking it up\n-> tool call lookup({\"city\":\"Lima\"})\n");
        assert_eq!(result.render(), "[tool result: lookup]\n!! tool error: unknown: HTTP 503\n");
        assert!(call.is_decisive() && result.is_decisive());
        assert!(!TranscriptMessage { role: "user".into(), ..TranscriptMessage::default() }.is_decisive());
    }
}
