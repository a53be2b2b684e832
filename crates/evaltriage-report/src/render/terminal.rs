//! A report's markdown as plain terminal text (`reports show` on a terminal): headings underlined,
//! lists with bullets, tables aligned in columns, code indented, emphasis markers and HTML comments
//! (our machine-readable block) dropped. No escape sequences; a face still sanitizes what it
//! prints. (termimad would add ~100 crates; this is the 150 lines we need.)

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Renders markdown for a terminal.
pub fn render(markdown: &str) -> String {
    let mut r = Renderer::default();
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        r.event(event);
    }
    r.flush_line();
    let mut out = r.out;
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[derive(Default)]
struct Renderer {
    out: String,
    line: String,
    /// Nested lists: `None` bullets, `Some(n)` the next number.
    lists: Vec<Option<u64>>,
    heading: Option<HeadingLevel>,
    in_code: bool,
    /// The table being collected: rows of cells.
    table: Option<Vec<Vec<String>>>,
    cell: Option<String>,
    link: Vec<String>,
}

impl Renderer {
    fn push(&mut self, text: &str) {
        if let Some(cell) = &mut self.cell {
            cell.push_str(text);
        } else {
            self.line.push_str(text);
        }
    }

    fn flush_line(&mut self) {
        if !self.line.trim().is_empty() {
            let indent = "  ".repeat(self.lists.len().saturating_sub(1));
            let text = std::mem::take(&mut self.line);
            let text = text.trim_end();
            if self.lists.is_empty() || text.starts_with("• ") || starts_numbered(text) {
                self.out.push_str(&indent);
            } else {
                self.out.push_str(&indent);
                self.out.push_str("  ");
            }
            self.out.push_str(text);
            self.out.push('\n');
        }
        self.line.clear();
    }

    fn blank(&mut self) {
        self.flush_line();
        if !self.out.is_empty() && !self.out.ends_with("\n\n") && self.lists.is_empty() {
            self.out.push('\n');
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                self.blank();
                self.heading = Some(level);
            }
            Event::End(TagEnd::Heading(_)) => {
                let text = std::mem::take(&mut self.line);
                let width = text.chars().count();
                match self.heading.take() {
                    Some(HeadingLevel::H1) => self.out.push_str(&format!("{text}\n{}\n\n", "═".repeat(width))),
                    Some(HeadingLevel::H2) => self.out.push_str(&format!("{text}\n{}\n\n", "─".repeat(width))),
                    _ => self.out.push_str(&format!("■ {text}\n\n")),
                }
            }
            Event::Start(Tag::Paragraph) => {}
            Event::End(TagEnd::Paragraph) => self.blank(),
            Event::Start(Tag::List(start)) => {
                self.flush_line();
                self.lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                self.flush_line();
                self.lists.pop();
                if self.lists.is_empty() {
                    self.out.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                self.flush_line();
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    _ => "• ".to_owned(),
                };
                self.line.push_str(&marker);
            }
            Event::End(TagEnd::Item) => self.flush_line(),
            Event::Start(Tag::CodeBlock(kind)) => {
                self.blank();
                self.in_code = true;
                if let CodeBlockKind::Fenced(info) = kind
                    && !info.is_empty()
                {
                    self.out.push_str(&format!("    [{info}]\n"));
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                self.in_code = false;
                self.out.push('\n');
            }
            Event::Start(Tag::Table(_)) => {
                self.blank();
                self.table = Some(Vec::new());
            }
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                if let Some(t) = &mut self.table {
                    t.push(Vec::new());
                }
            }
            Event::Start(Tag::TableCell) => self.cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                if let (Some(t), Some(cell)) = (&mut self.table, self.cell.take())
                    && let Some(row) = t.last_mut()
                {
                    row.push(cell.trim().to_owned());
                }
            }
            Event::End(TagEnd::Table) => {
                if let Some(rows) = self.table.take() {
                    self.out.push_str(&table(&rows));
                    self.out.push('\n');
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => self.link.push(dest_url.into_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = self.link.pop()
                    && !url.is_empty()
                    && !self.line.ends_with(&url)
                {
                    self.push(&format!(" <{url}>"));
                }
            }
            Event::Text(text) => {
                if self.in_code {
                    for line in text.lines() {
                        self.out.push_str("    ");
                        self.out.push_str(line);
                        self.out.push('\n');
                    }
                } else {
                    self.push(&text);
                }
            }
            Event::Code(code) => self.push(&code),
            Event::SoftBreak => self.push(" "),
            Event::HardBreak => self.flush_line(),
            Event::Rule => {
                self.blank();
                self.out.push_str(&format!("{}\n\n", "─".repeat(40)));
            }
            // HTML comments (the machine-readable block) are invisible, as in any renderer; other
            // HTML is shown as the text it is.
            Event::Html(html) | Event::InlineHtml(html) if !html.trim_start().starts_with("<!--") => {
                self.push(html.trim_end_matches('\n'));
            }
            Event::TaskListMarker(done) => self.push(if done { "[x] " } else { "[ ] " }),
            _ => {}
        }
    }
}

fn starts_numbered(text: &str) -> bool {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && text[digits..].starts_with(". ")
}

/// Rows aligned in columns, the header underlined.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (r, row) in rows.iter().enumerate() {
        let cells: Vec<String> = (0..columns)
            .map(|i| {
                let cell = row.get(i).map_or("", String::as_str);
                format!("{cell}{}", " ".repeat(widths[i] - cell.chars().count()))
            })
            .collect();
        out.push_str(cells.join(" │ ").trim_end());
        out.push('\n');
        if r == 0 {
            out.push_str(&widths.iter().map(|w| "─".repeat(*w)).collect::<Vec<_>>().join("─┼─"));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_as_plain_text() {
        let md = "# Run Analysis Report: x\n\n## Run metadata\n\n- **Run ID**: `jn7`\n- **Pass rate**: `14/19`\n\n| Eval | Classification |\n| --- | --- |\n| `a/b` | MODEL_FAULT |\n| `c/long-name` | KNOWN_GAP |\n\n### 1) a/b — MODEL_FAULT\n\n```ts\nconst x = 1;\n```\n\nSee [docs](https://example.com).\n\n<!-- evaltriage:v1 {} -->\n";
        let out = render(md);
        assert_eq!(
            out,
            "Run Analysis Report: x\n══════════════════════\n\nRun metadata\n────────────\n\n• Run ID: jn7\n• Pass rate: 14/19\n\n\
Eval        │ Classification\n────────────┼───────────────\na/b         │ MODEL_FAULT\nc/long-name │ KNOWN_GAP\n\n\
■ 1) a/b — MODEL_FAULT\n\n    [ts]\n    const x = 1;\n\nSee docs <https://example.com>.\n"
        );
        assert!(!out.contains("evaltriage:v1"));
    }
}
