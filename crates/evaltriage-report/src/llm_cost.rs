//! What an analysis's LLM tokens cost at the config's price table, as the pipeline computed it
//! (the report crate knows no prices): said the same way by the report, the digest and the faces.

use serde_json::{Value, json};

/// The dollars of some LLM tokens, or why there are none.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmCost {
    /// The model the tokens went to.
    pub model: String,
    /// Dollars at the config's price for the model; `None` when the config has no price for it
    /// (the figures stay in tokens and say so).
    pub usd: Option<f64>,
    /// Priced at the Batch API's discount (the tokens went through it).
    pub batch: bool,
}

impl LlmCost {
    /// `~$0.0123`, `~$0.0062 at batch price`, or `no price configured for gpt-4.1-mini`.
    pub fn describe(&self) -> String {
        match self.usd {
            Some(usd) => format!("{}{}", approx_usd(usd), if self.batch { " at batch price" } else { "" }),
            None => format!("no price configured for {}", self.model),
        }
    }

    /// Adds another cost of the same model and price (a night's runs): priced only if both are.
    pub fn add(&mut self, other: &Self) {
        self.usd = self.usd.zip(other.usd).map(|(a, b)| a + b);
        self.batch |= other.batch;
    }

    pub fn to_json(&self) -> Value {
        json!({"model": self.model, "priced": self.usd.is_some(), "usd": self.usd, "at_batch_price": self.batch})
    }
}

/// Dollars as an estimate, to the hundredth of a cent: `~$0.0123`.
pub fn approx_usd(usd: f64) -> String {
    format!("~${usd:.4}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(usd: Option<f64>, batch: bool) -> LlmCost {
        LlmCost { model: "gpt-4.1-mini".to_owned(), usd, batch }
    }

    #[test]
    fn a_cost_says_its_dollars_or_that_there_is_no_price() {
        assert_eq!(cost(Some(0.0216), false).describe(), "~$0.0216");
        assert_eq!(cost(Some(0.0108), true).describe(), "~$0.0108 at batch price");
        assert_eq!(cost(None, false).describe(), "no price configured for gpt-4.1-mini");
        let mut night = cost(Some(0.01), false);
        night.add(&cost(Some(0.0025), false));
        assert_eq!(night.describe(), "~$0.0125");
        night.add(&cost(None, false));
        assert_eq!(night.usd, None, "one unpriced part leaves the whole unpriced");
        assert_eq!(cost(None, false).to_json()["priced"], false);
    }
}
