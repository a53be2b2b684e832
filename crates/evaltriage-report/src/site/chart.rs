//! The site's charts as inline SVG, written by hand: a sparkline, a pass-rate line chart (one
//! model or several) and stacked label bars. Each chart carries a `<title>`, a class the tests and
//! stylesheet find it by, and text labels; every piece of text is XML-escaped.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use crate::review::trend::{ModelTrend, TrendPoint};

/// Escapes text for XML and HTML (content and attribute values).
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A label's colour (always shown with its text or abbreviation, never alone).
pub(crate) fn label_colour(label: &str) -> &'static str {
    match label {
        "pass" => "#3c9a4b",
        "MODEL_FAULT" => "#c9403a",
        "OVERLY_STRICT" => "#e08a1e",
        "AMBIGUOUS_TASK" => "#8e5bb5",
        "KNOWN_GAP" => "#2f86c0",
        "INFRASTRUCTURE" | "HARNESS_FAILURE" => "#7d7d7d",
        _ => "#5a5a5a",
    }
}

/// A short text for a label, for heat-map cells.
pub(crate) fn label_abbrev(label: &str) -> String {
    match label {
        "MODEL_FAULT" => "MF".to_owned(),
        "OVERLY_STRICT" => "OS".to_owned(),
        "AMBIGUOUS_TASK" => "AT".to_owned(),
        "KNOWN_GAP" => "KG".to_owned(),
        "INFRASTRUCTURE" => "INF".to_owned(),
        "HARNESS_FAILURE" => "HF".to_owned(),
        "UNCLASSIFIED" => "UC".to_owned(),
        other => {
            other.split(['_', ' ', '-']).filter_map(|w| w.chars().next()).take(3).collect::<String>().to_uppercase()
        }
    }
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// A small line of pass rates, oldest first (a gap where a report gave none).
pub fn sparkline(points: &[TrendPoint]) -> String {
    let (w, h) = (120.0, 28.0);
    let values: Vec<Option<f64>> = points.iter().map(TrendPoint::rate).collect();
    let n = values.len().max(2) as f64 - 1.0;
    let coords: Vec<String> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", 2.0 + i as f64 * (w - 4.0) / n, h - 2.0 - v * (h - 4.0))))
        .collect();
    let title: Vec<String> = values.iter().map(|v| v.map_or_else(|| "—".to_owned(), pct)).collect();
    let last = coords.last().map_or(String::new(), |c| {
        let (x, y) = c.split_once(',').unwrap_or(("0", "0"));
        format!(r##"<circle cx="{x}" cy="{y}" r="2.5" fill="#1d4f91"/>"##)
    });
    format!(
        r##"<svg class="sparkline" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>Pass rate, oldest to newest: {}</title><polyline fill="none" stroke="#1d4f91" stroke-width="1.5" points="{}"/>{last}</svg>"##,
        esc(&title.join(", ")),
        coords.join(" ")
    )
}

const PALETTE: [&str; 8] = ["#1d4f91", "#c9403a", "#3c9a4b", "#e08a1e", "#8e5bb5", "#2f86c0", "#7a5230", "#d6458f"];

/// Pass rate over time, one line per model, on a shared axis of runs in the order they ran (two
/// runs on one day get a point each); with grid lines at 0, 50 and 100%, the runs' dates and a
/// legend.
pub fn pass_rate_chart(models: &[ModelTrend]) -> String {
    let dates: Vec<(DateTime<Utc>, &str, NaiveDate)> = models
        .iter()
        .flat_map(|m| m.points.iter().map(|p| (p.ran_at, p.run_id_prefix.as_str(), p.date)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: BTreeMap<(DateTime<Utc>, &str), usize> =
        dates.iter().enumerate().map(|(i, d)| ((d.0, d.1), i)).collect();
    let (w, h, left, right, top, bottom) = (720.0, 260.0, 48.0, 40.0, 16.0, 48.0);
    let legend_h = 18.0 * models.len() as f64;
    let total_h = h + legend_h;
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let n = (dates.len().max(2) - 1) as f64;
    let x = |i: usize| left + i as f64 * plot_w / n;
    let y = |v: f64| top + (1.0 - v) * plot_h;
    let mut svg = format!(
        r##"<svg class="chart pass-rate-chart" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{total_h}" viewBox="0 0 {w} {total_h}" role="img" font-family="sans-serif" font-size="11"><title>Pass rate over time</title>"##
    );
    for v in [0.0, 0.5, 1.0] {
        svg.push_str(&format!(
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            w - right,
            left - 6.0,
            y(v) + 4.0,
            pct(v),
            y = y(v)
        ));
    }
    let step = (dates.len() / 8).max(1);
    for (i, d) in dates.iter().enumerate().filter(|(i, _)| i % step == 0 || *i + 1 == dates.len()) {
        svg.push_str(&format!(
            r##"<text class="x-label" x="{:.1}" y="{}" text-anchor="middle">{}</text>"##,
            x(i),
            h - bottom + 16.0,
            d.2.format("%Y-%m-%d")
        ));
    }
    for (k, m) in models.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let pts: Vec<(f64, f64, &TrendPoint)> = m
            .points
            .iter()
            .filter_map(|p| p.rate().map(|r| (x(index[&(p.ran_at, p.run_id_prefix.as_str())]), y(r), p)))
            .collect();
        let line: Vec<String> = pts.iter().map(|(a, b, _)| format!("{a:.1},{b:.1}")).collect();
        svg.push_str(&format!(
            r##"<g class="series" data-model="{}"><polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"##,
            esc(&m.model),
            line.join(" ")
        ));
        for (a, b, p) in &pts {
            let rate = p.rate().map(pct).unwrap_or_default();
            svg.push_str(&format!(
                r##"<circle class="point" cx="{a:.1}" cy="{b:.1}" r="3" fill="{colour}"><title>{} {} {}: {rate}</title></circle>"##,
                esc(&m.model),
                p.date.format("%Y-%m-%d"),
                esc(&p.run_id_prefix)
            ));
        }
        let ly = h + 4.0 + 18.0 * k as f64;
        svg.push_str(&format!(
            r##"</g><rect x="{left}" y="{ly}" width="12" height="12" fill="{colour}"/><text x="{}" y="{}">{}</text>"##,
            left + 18.0,
            ly + 10.0,
            esc(&m.model)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Failures per label, one stacked bar per run, with counts in the bars and a legend.
pub fn label_bars(points: &[TrendPoint]) -> String {
    let labels: Vec<&String> =
        points.iter().flat_map(|p| p.labels.keys()).collect::<BTreeSet<_>>().into_iter().collect();
    let most = points.iter().map(|p| p.labels.values().sum::<usize>()).max().unwrap_or(0).max(1) as f64;
    let (left, top, plot_h, bar_w, gap) = (40.0, 12.0, 180.0, 28.0, 10.0);
    let w = left + points.len().max(1) as f64 * (bar_w + gap) + 16.0;
    let w = w.max(320.0);
    let legend_y = top + plot_h + 44.0;
    let total_h = legend_y + 18.0 * labels.len() as f64 + 8.0;
    let mut svg = format!(
        r##"<svg class="chart label-chart" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{total_h}" viewBox="0 0 {w} {total_h}" role="img" font-family="sans-serif" font-size="11"><title>Failures by label, per run</title><text x="{}" y="{}" text-anchor="end">{}</text><text x="{}" y="{}" text-anchor="end">0</text>"##,
        left - 6.0,
        top + 4.0,
        most as usize,
        left - 6.0,
        top + plot_h
    );
    for (i, p) in points.iter().enumerate() {
        let bx = left + i as f64 * (bar_w + gap);
        let mut yb = top + plot_h;
        for label in &labels {
            let n = p.labels.get(*label).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let bh = n as f64 / most * plot_h;
            yb -= bh;
            svg.push_str(&format!(
                r##"<rect class="bar" x="{bx:.1}" y="{yb:.1}" width="{bar_w}" height="{bh:.1}" fill="{}"><title>{} {}: {n} {}</title></rect>"##,
                label_colour(label),
                p.date.format("%Y-%m-%d"),
                esc(&p.run_id_prefix),
                esc(label)
            ));
            if bh >= 12.0 {
                svg.push_str(&format!(
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#fff">{n}</text>"##,
                    bx + bar_w / 2.0,
                    yb + bh / 2.0 + 4.0
                ));
            }
        }
        svg.push_str(&format!(
            r##"<text class="x-label" x="{:.1}" y="{}" text-anchor="end" transform="rotate(-45 {:.1} {})">{}</text>"##,
            bx + bar_w / 2.0,
            top + plot_h + 14.0,
            bx + bar_w / 2.0,
            top + plot_h + 14.0,
            p.date.format("%m-%d")
        ));
    }
    for (k, label) in labels.iter().enumerate() {
        let ly = legend_y + 18.0 * k as f64;
        svg.push_str(&format!(
            r##"<rect x="{left}" y="{ly}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{} ({})</text>"##,
            label_colour(label),
            left + 18.0,
            ly + 10.0,
            esc(label),
            label_abbrev(label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(day: u32, passed: u32, labels: &[(&str, usize)]) -> TrendPoint {
        TrendPoint {
            ran_at: NaiveDate::from_ymd_opt(2026, 2, day).unwrap().and_hms_opt(12, 0, 0).unwrap().and_utc(),
            date: NaiveDate::from_ymd_opt(2026, 2, day).unwrap(),
            run_id_prefix: format!("run{day}<x>"),
            experiment: None,
            pass_rate: Some((passed, 10)),
            labels: labels.iter().map(|(l, n)| ((*l).to_owned(), *n)).collect(),
            report: String::new(),
        }
    }

    #[test]
    fn charts_are_svg_with_titles_and_escaped_text() {
        let points = vec![point(1, 5, &[("MODEL_FAULT", 3), ("KNOWN_GAP", 2)]), point(2, 8, &[("MODEL_FAULT", 2)])];
        let model = ModelTrend { model: "a/<b>".into(), points: points.clone(), evals: Vec::new() };
        let chart = pass_rate_chart(std::slice::from_ref(&model));
        assert!(chart.starts_with("<svg class=\"chart pass-rate-chart\"") && chart.ends_with("</svg>"));
        assert!(chart.contains("a/&lt;b&gt;") && !chart.contains("<b>"), "{chart}");
        assert_eq!(chart.matches("<circle class=\"point\"").count(), 2);
        assert!(chart.contains("50.0%") && chart.contains("2026-02-01"));
        let bars = label_bars(&points);
        assert_eq!(bars.matches("<rect class=\"bar\"").count(), 3);
        assert!(bars.contains("KNOWN_GAP (KG)"));
        let spark = sparkline(&points);
        assert!(spark.contains("50.0%, 80.0%"), "{spark}");
        assert_eq!(label_abbrev("HARNESS_FAILURE"), "HF");
        assert_eq!(label_abbrev("SOMETHING_ELSE"), "SE");
    }
}
