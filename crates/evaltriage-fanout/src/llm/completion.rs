//! A chat completion as triage reads it: a lenient private wire struct (local servers differ in
//! the fields they send), with the content, a refusal, why it stopped, and the tokens it took.

use evaltriage_core::TokenUsage;
use serde::Deserialize;

/// One chat completion, as far as triage cares.
#[derive(Debug)]
pub(crate) struct Completion {
    pub(crate) content: Option<String>,
    pub(crate) refusal: Option<String>,
    pub(crate) finish_reason: Option<String>,
    pub(crate) usage: TokenUsage,
}

impl Completion {
    /// The plain text of a completion that is not a structured answer (the synthesis).
    pub(crate) fn into_text(self) -> Result<(String, TokenUsage), String> {
        if let Some(refusal) = self.refusal.filter(|r| !r.trim().is_empty()) {
            return Err(format!("the model refused to answer: {}", refusal.trim()));
        }
        match self.content.filter(|c| !c.trim().is_empty()) {
            Some(text) => Ok((text.trim().to_owned(), self.usage)),
            None => Err("the answer was empty".to_owned()),
        }
    }
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    choices: Vec<WireChoice>,
    /// Some proxies answer 200 with an error object instead of choices.
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

pub(crate) fn parse_completion(bytes: &[u8]) -> Result<Completion, String> {
    let wire: WireResponse = serde_json::from_slice(bytes).map_err(|e| {
        let preview: String = String::from_utf8_lossy(bytes).chars().take(120).collect();
        format!("the server's response is not a chat completion ({e}; it starts with {preview:?})")
    })?;
    let usage =
        wire.usage.map(|u| TokenUsage { prompt: u.prompt_tokens, completion: u.completion_tokens }).unwrap_or_default();
    if let (true, Some(error)) = (wire.choices.is_empty(), &wire.error) {
        let message = error.get("message").and_then(|m| m.as_str()).map_or_else(|| error.to_string(), str::to_owned);
        return Err(format!("the server answered with an error: {}", message.chars().take(300).collect::<String>()));
    }
    let choice = wire.choices.into_iter().next().ok_or("the server's response has no choices")?;
    let message = choice.message.ok_or("the server's response has no message")?;
    Ok(Completion { content: message.content, refusal: message.refusal, finish_reason: choice.finish_reason, usage })
}
