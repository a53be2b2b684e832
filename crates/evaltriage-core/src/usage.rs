//! What a generation used: its tokens and its cost, as the benchmark records them per eval
//! (`status.usage`, the cost in `usage.raw.cost`), and the run's sum as the benchmark sums it.

/// One eval's generation usage. Every field is optional on the wire and here.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    pub cached_input_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    /// The provider's cost of the generation in USD (`usage.raw.cost`).
    pub cost_usd: Option<f64>,
}

impl Usage {
    /// Whether the generation's output reached `max_output_tokens` (the configured cap): the
    /// answer may have been cut off.
    pub fn hit_output_cap(&self, max_output_tokens: u64) -> bool {
        max_output_tokens > 0 && self.output_tokens.is_some_and(|t| t >= max_output_tokens)
    }
}

/// A run's usage: tokens summed over its evals that recorded them, and the cost summed as the
/// benchmark's `computeRunCostUsd` does (finished evals with a numeric cost; `None` when none has).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    /// Evals that recorded any usage.
    pub evals_with_usage: usize,
    pub cost_usd: Option<f64>,
}

impl RunUsage {
    /// Sums the usages of finished (passed or failed) evals.
    pub fn sum<'a>(finished: impl IntoIterator<Item = &'a Usage>) -> Self {
        let mut total = Self::default();
        for u in finished {
            total.evals_with_usage += 1;
            total.input_tokens += u.input_tokens.unwrap_or(0);
            total.output_tokens += u.output_tokens.unwrap_or(0);
            total.reasoning_tokens += u.reasoning_tokens.unwrap_or(0);
            if let Some(cost) = u.cost_usd.filter(|c| c.is_finite()) {
                total.cost_usd = Some(total.cost_usd.unwrap_or(0.0) + cost);
            }
        }
        total
    }
}

/// The most output tokens the benchmark's runner asks of a model (`getMaxOutputTokens` in
/// `runner/models/modelCodegen.ts`): 4,096 for DeepSeek, 8,192 for Claude 3.5 Sonnet, else 16,384.
pub fn benchmark_max_output_tokens(model: &str) -> u64 {
    if model.starts_with("deepseek/") {
        4_096
    } else if model == "anthropic/claude-3.5-sonnet" {
        8_192
    } else {
        16_384
    }
}

/// A cost in USD as a person reads it: `$1.44`, `$0.0123` below ten cents.
pub fn format_usd(cost: f64) -> String {
    if cost.abs() < 0.1 && cost != 0.0 { format!("${cost:.4}") } else { format!("${cost:.2}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_cost_sums_the_evals_that_have_one() {
        let with = |cost: Option<f64>, out: u64| Usage { cost_usd: cost, output_tokens: Some(out), ..Usage::default() };
        let sum = RunUsage::sum(&[with(Some(0.5), 10), with(None, 5), with(Some(0.94), 1)]);
        assert_eq!(sum.output_tokens, 16);
        assert_eq!(sum.evals_with_usage, 3);
        assert!((sum.cost_usd.unwrap() - 1.44).abs() < 1e-9);
        assert_eq!(RunUsage::sum(&[with(None, 1)]).cost_usd, None, "no cost recorded is not $0");
        assert_eq!(format_usd(1.44), "$1.44");
        assert_eq!(format_usd(0.01234), "$0.0123");
        assert!(with(None, 8192).hit_output_cap(8192));
        assert!(!with(None, 8191).hit_output_cap(8192));
    }
}
