//! Claiming a fix for a finding (`findings claim`): the pure edit that adds one entry to a
//! report's **Actions taken** — replacing a lone "None", or after the entries there — so the claim
//! lives in the report like any hand-written one and the next reading of the reports sees it.
//! Every other byte of the report is kept.

use crate::lines::{BLOCK_MARKER, actions_taken_range};

/// The entry `findings claim` writes: the time first (claims count from it), then the eval (so the
/// entry concerns it), the note, and the finding.
pub fn claim_entry(at: chrono::DateTime<chrono::Utc>, eval: &str, note: &str, finding: &str) -> String {
    let note = note.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "- {}: `{eval}` — {note} (fix claimed for finding {finding} with `evaltriage findings claim`)",
        at.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

/// The report's text with `entry` (one markdown list item) added to its **Actions taken** section;
/// a report without one gets the section, before our block when it has one.
pub fn add_action_taken(text: &str, entry: &str) -> String {
    let entry = entry.trim();
    match actions_taken_range(text) {
        Some(range) => {
            let body = &text[range.clone()];
            let trimmed = body.trim();
            let kept = if trimmed.eq_ignore_ascii_case("none") || trimmed.is_empty() { "" } else { body.trim_end() };
            let lead = if kept.is_empty() { "\n" } else { "" };
            let sep = if kept.is_empty() { "" } else { "\n" };
            let tail = &text[range.end..];
            let after = if tail.is_empty() { "" } else { "\n" };
            format!("{}{lead}{kept}{sep}{entry}\n{after}{tail}", &text[..range.start])
        }
        None => {
            let at = text.find(BLOCK_MARKER).unwrap_or(text.len());
            let head = text[..at].trim_end();
            format!("{head}\n\n## Actions taken\n\n{entry}\n\n{}", &text[at..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(before: &str, after: &str) {
        assert_eq!(add_action_taken(before, "- x: `c/e` — fixed"), after);
    }

    #[test]
    fn an_entry_replaces_none_or_follows_the_others() {
        check(
            "# R\n\n## Actions taken\n\nNone\n\n<!-- evaltriage:v1 {} -->\n",
            "# R\n\n## Actions taken\n\n- x: `c/e` — fixed\n\n<!-- evaltriage:v1 {} -->\n",
        );
        check(
            "# R\n\n## Actions taken\n\n- old one\n\n<!-- evaltriage:v1 {} -->\n",
            "# R\n\n## Actions taken\n\n- old one\n- x: `c/e` — fixed\n\n<!-- evaltriage:v1 {} -->\n",
        );
        check("# R\n\n## Actions taken\n\nNone\n", "# R\n\n## Actions taken\n\n- x: `c/e` — fixed\n");
        check(
            "# R\n\ntext\n<!-- evaltriage:v1 {} -->\n",
            "# R\n\ntext\n\n## Actions taken\n\n- x: `c/e` — fixed\n\n<!-- evaltriage:v1 {} -->\n",
        );
        let at = "2026-08-21T10:03:00Z".parse().unwrap();
        assert_eq!(
            claim_entry(at, "c/e", "relaxed\nthe  rule", "m-1"),
            "- 2026-08-21T10:03:00Z: `c/e` — relaxed the rule (fix claimed for finding m-1 with `evaltriage findings claim`)"
        );
    }
}
