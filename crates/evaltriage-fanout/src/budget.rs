//! The token budget as a hard cap: a call starts only if the most it can cost — its prompt,
//! estimated from above, plus its answer cap — fits in what is left once the tokens already spent
//! and the worst case of the calls in flight are counted. When a call ends, its reservation is
//! replaced by what the server's `usage` says it cost. So spent ≤ budget, whatever the order in
//! which concurrent calls finish — and, with a [`SharedBudget`], whatever the number of analyses
//! whose calls draw on it at once.

use std::sync::{Arc, Mutex};

use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessageContent, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestUserMessageContent,
};

/// Tokens a chat message costs beyond its text (role, separators), counted from above.
const PER_MESSAGE_TOKENS: u64 = 8;

/// The most prompt tokens a text can take, for the cap. Tokenizers of chat models average about
/// four characters per token on English and code; three bytes per token leaves room for denser
/// text (symbols, non-ASCII) while keeping small budgets usable.
pub fn prompt_tokens_upper_bound(text: &str) -> u64 {
    (text.len() as u64).div_ceil(3) + PER_MESSAGE_TOKENS
}

/// The most a chat call can cost: its messages' prompt tokens from above, plus the answer cap.
pub(crate) fn call_cost(messages: &[ChatCompletionRequestMessage], max_completion_tokens: Option<u32>) -> u64 {
    let prompt: u64 = messages.iter().map(|m| prompt_tokens_upper_bound(message_text(m))).sum();
    prompt + u64::from(max_completion_tokens.unwrap_or(DEFAULT_ANSWER_ALLOWANCE))
}

/// What a call without an answer cap is assumed to take for its answer (only when a caller sets
/// none; the LLM configuration always sets one).
const DEFAULT_ANSWER_ALLOWANCE: u32 = 4_000;

fn message_text(message: &ChatCompletionRequestMessage) -> &str {
    match message {
        ChatCompletionRequestMessage::System(m) => match &m.content {
            ChatCompletionRequestSystemMessageContent::Text(t) => t,
            _ => "",
        },
        ChatCompletionRequestMessage::User(m) => match &m.content {
            ChatCompletionRequestUserMessageContent::Text(t) => t,
            _ => "",
        },
        ChatCompletionRequestMessage::Assistant(m) => match &m.content {
            Some(ChatCompletionRequestAssistantMessageContent::Text(t)) => t,
            _ => "",
        },
        _ => "",
    }
}

/// A token budget shared by concurrent calls. Without a limit every reservation succeeds and only
/// the spending is counted.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    limit: Option<u64>,
    state: Mutex<BudgetState>,
}

#[derive(Debug, Default, Clone, Copy)]
struct BudgetState {
    spent: u64,
    reserved: u64,
}

/// Why a call was not started.
/// How a call the budget could not hold is said (and recognised, to ask again later).
pub(crate) const OVER_BUDGET_PREFIX: &str = "token budget reached";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OverBudget {
    pub cost: u64,
    pub left: u64,
    pub limit: u64,
}

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{OVER_BUDGET_PREFIX}: this call could take up to {} tokens and {} of the {} are left",
            self.cost, self.left, self.limit
        )
    }
}

impl Budget {
    pub(crate) fn new(limit: Option<u64>) -> Self {
        Self { limit, state: Mutex::new(BudgetState::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        // The state is two counters updated together; a panic elsewhere cannot leave them torn.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reserves `cost` tokens for a call about to start, or says why it cannot start.
    pub(crate) fn reserve(&self, cost: u64) -> Result<(), OverBudget> {
        let mut state = self.lock();
        if let Some(limit) = self.limit {
            let left = limit.saturating_sub(state.spent + state.reserved);
            if cost > left {
                return Err(OverBudget { cost, left, limit });
            }
        }
        state.reserved += cost;
        Ok(())
    }

    /// A call that reserved `cost` ended having spent `actual` (0 when it failed before an answer).
    pub(crate) fn settle(&self, cost: u64, actual: u64) {
        let mut state = self.lock();
        state.reserved = state.reserved.saturating_sub(cost);
        state.spent += actual;
    }
}

/// One token budget for several analyses running at once (the backfill's runs in flight): every
/// call of every analysis reserves its worst case from it, so what they spend together never
/// passes the limit. Set it as [`crate::FanoutConfig::shared_budget`]; clones share the counters.
#[derive(Debug, Clone)]
pub struct SharedBudget(Arc<Budget>);

impl SharedBudget {
    pub fn new(limit: u64) -> Self {
        Self(Arc::new(Budget::new(Some(limit))))
    }

    /// The tokens the settled calls spent so far.
    pub fn spent(&self) -> u64 {
        self.0.lock().spent
    }

    pub(crate) fn budget(&self) -> Arc<Budget> {
        Arc::clone(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_count_calls_in_flight_and_settle_to_what_was_spent() {
        let budget = Budget::new(Some(3_000));
        assert!(budget.reserve(1_200).is_ok());
        assert!(budget.reserve(1_200).is_ok());
        // Two calls in flight hold 2,400: a third of the same size does not fit.
        assert_eq!(budget.reserve(1_200), Err(OverBudget { cost: 1_200, left: 600, limit: 3_000 }));
        budget.settle(1_200, 700);
        // 700 spent, 1,200 still in flight: 1,100 left.
        assert_eq!(budget.reserve(1_101), Err(OverBudget { cost: 1_101, left: 1_100, limit: 3_000 }));
        assert!(budget.reserve(1_100).is_ok());
        budget.settle(1_200, 1_200);
        budget.settle(1_100, 0);
        // 1,900 spent, nothing in flight.
        assert_eq!(budget.reserve(1_101), Err(OverBudget { cost: 1_101, left: 1_100, limit: 3_000 }));
        assert!(budget.reserve(1_100).is_ok());
    }

    #[test]
    fn clones_of_a_shared_budget_draw_on_one_limit() {
        let one = SharedBudget::new(2_000);
        let other = one.clone();
        assert!(one.budget().reserve(1_500).is_ok());
        assert!(other.budget().reserve(600).is_err(), "the first analysis's call holds 1,500 of 2,000");
        one.budget().settle(1_500, 900);
        assert!(other.budget().reserve(1_100).is_ok());
        assert_eq!(other.spent(), 900);
    }

    #[test]
    fn without_a_limit_everything_fits() {
        let budget = Budget::new(None);
        assert!(budget.reserve(u64::MAX / 2).is_ok());
        assert!(budget.reserve(u64::MAX / 2).is_ok());
        budget.settle(u64::MAX / 2, 10);
    }

    #[test]
    fn the_prompt_bound_is_above_four_characters_a_token() {
        let text = "const x = ctx.db.query(\"messages\").collect();\n".repeat(100);
        assert!(prompt_tokens_upper_bound(&text) > (text.len() / 4) as u64);
    }
}
