//! Text for people from what the pipeline returns: shared by the CLI commands and the MCP tools,
//! so both say the same thing. (JSON comes from the pipeline's own data.)

pub mod analyze;
pub mod evals;
pub mod findings;
pub mod reports;
pub mod runs;

/// A plain text table: a header, then one line per row, every column but the last padded to its
/// widest cell (counted in characters, after the terminal sanitizer).
pub fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let clean = |c: &str| evaltriage_core::text::strip_controls(c).replace(['\n', '\t'], " ");
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| clean(c)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut s = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}
