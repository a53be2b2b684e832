//! Tokens turned into money: the price table of the config (`[prices."<model>"]`, dollars per
//! million input and output tokens, and the provider's batch discount), and the cost of what was
//! spent or estimated, synchronously and through the batch API. Without a price the figures stay in
//! tokens and say so.

use evaltriage_core::TokenUsage;
use evaltriage_fanout::Backend;
pub use evaltriage_report::LlmCost;
use serde::Deserialize;

/// OpenAI's Batch API discount when the config gives none: half the price.
pub const DEFAULT_BATCH_DISCOUNT: f64 = 0.5;

/// One model's price.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Dollars per million prompt tokens.
    pub input_per_million: f64,
    /// Dollars per million completion tokens.
    pub output_per_million: f64,
    /// The share taken off through the batch API (0.5: half price).
    #[serde(default = "default_discount")]
    pub batch_discount: f64,
}

fn default_discount() -> f64 {
    DEFAULT_BATCH_DISCOUNT
}

impl Price {
    /// The price, if every figure is a finite, non-negative number and the discount below 1.
    pub fn checked(self) -> Result<Self, String> {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        if !ok(self.input_per_million) || !ok(self.output_per_million) {
            return Err("prices must be finite, non-negative dollars per million tokens".to_owned());
        }
        if !ok(self.batch_discount) || self.batch_discount >= 1.0 {
            return Err("batch_discount must be from 0 up to (not including) 1".to_owned());
        }
        Ok(self)
    }

    /// Dollars for `tokens` sent synchronously.
    pub fn sync_cost(&self, tokens: TokenUsage) -> f64 {
        (tokens.prompt as f64 * self.input_per_million + tokens.completion as f64 * self.output_per_million)
            / 1_000_000.0
    }

    /// Dollars for `tokens` sent through the batch API.
    pub fn batch_cost(&self, tokens: TokenUsage) -> f64 {
        self.sync_cost(tokens) * (1.0 - self.batch_discount)
    }
}

/// What `tokens` cost the analysing model of `backend` at `price`, sent synchronously or (`batch`)
/// through the batch API; `None` under the rules classifier, which spends no tokens.
pub fn llm_cost(backend: &Backend, price: Option<&Price>, tokens: TokenUsage, batch: bool) -> Option<LlmCost> {
    let Backend::Llm(llm) = backend else { return None };
    let usd = price.map(|p| if batch { p.batch_cost(tokens) } else { p.sync_cost(tokens) });
    Some(LlmCost { model: llm.model.clone(), usd, batch })
}

/// Tokens and what they cost: `12345 tokens (~$0.0123 at batch price)`, `12345 tokens (no price
/// configured for gpt-4.1-mini)`, or only the tokens when nothing is priced.
pub fn describe(tokens: TokenUsage, cost: Option<&LlmCost>) -> String {
    match cost {
        Some(cost) => format!("{} tokens ({})", tokens.total(), cost.describe()),
        None => format!("{} tokens", tokens.total()),
    }
}

/// The same as JSON: tokens always, dollars when priced (`null` and `priced: false` otherwise).
pub fn json(tokens: TokenUsage, price: Option<&Price>) -> serde_json::Value {
    serde_json::json!({
        "prompt_tokens": tokens.prompt,
        "completion_tokens": tokens.completion,
        "total_tokens": tokens.total(),
        "priced": price.is_some(),
        "sync_usd": price.map(|p| p.sync_cost(tokens)),
        "batch_usd": price.map(|p| p.batch_cost(tokens)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price() -> Price {
        Price { input_per_million: 2.0, output_per_million: 8.0, batch_discount: 0.5 }
    }

    #[test]
    fn tokens_become_dollars_and_the_batch_is_discounted() {
        let t = TokenUsage { prompt: 1_000_000, completion: 500_000 };
        assert!((price().sync_cost(t) - 6.0).abs() < 1e-9);
        assert!((price().batch_cost(t) - 3.0).abs() < 1e-9);
        let llm = Backend::Llm(evaltriage_fanout::LlmConfig::new("http://127.0.0.1:9/v1", None, "gpt-4.1-mini"));
        let batch = llm_cost(&llm, Some(&price()), t, true);
        assert_eq!(describe(t, batch.as_ref()), "1500000 tokens (~$3.0000 at batch price)");
        let sync = llm_cost(&llm, Some(&price()), t, false);
        assert_eq!(describe(t, sync.as_ref()), "1500000 tokens (~$6.0000)");
        let unpriced = llm_cost(&llm, None, t, false);
        assert_eq!(describe(t, unpriced.as_ref()), "1500000 tokens (no price configured for gpt-4.1-mini)");
        let rules = Backend::Rules(evaltriage_fanout::RulesConfig::default());
        assert_eq!(llm_cost(&rules, Some(&price()), t, false), None, "the rules spend nothing to price");
        assert_eq!(json(t, None)["sync_usd"], serde_json::Value::Null);
    }

    #[test]
    fn bad_prices_are_refused() {
        assert!(Price { input_per_million: -1.0, ..price() }.checked().is_err());
        assert!(Price { output_per_million: f64::NAN, ..price() }.checked().is_err());
        assert!(Price { batch_discount: 1.0, ..price() }.checked().is_err());
        assert!(price().checked().is_ok());
    }
}
