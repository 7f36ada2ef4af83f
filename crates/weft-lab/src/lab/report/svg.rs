//! Inline SVG bar charts for `report.html`: no scripts, no fonts or assets from the network.
//!
//! Each chart is one `<svg class="chart">` with `data-bars` (how many bars it draws) so that a
//! test can check that every chart has data.

use std::fmt::Write;

use super::format_value;

/// Width of a chart, px.
const WIDTH: f64 = 860.0;
/// Width of the label column, px.
const LABEL_WIDTH: f64 = 250.0;
/// Width kept right of the longest bar for its value, px.
const VALUE_WIDTH: f64 = 110.0;
/// Height of one bar, px.
const BAR_HEIGHT: f64 = 16.0;
/// Vertical gap between bars, px.
const BAR_GAP: f64 = 5.0;
/// Space for the title, px.
const TITLE_HEIGHT: f64 = 28.0;
/// Series colours (colour-blind-safe Okabe–Ito palette).
const COLOURS: [&str; 4] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"];

/// Escapes text for XML/HTML.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One row of a chart: a label and one value per series (`None`: not measured).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The row's label (model and variant).
    pub(crate) label: String,
    /// One value per series.
    pub(crate) values: Vec<Option<f64>>,
}

/// A horizontal bar chart of `rows`, one bar per row and series, scaled to the largest value.
pub(crate) fn bar_chart(
    id: &str,
    title: &str,
    unit: &str,
    series: &[&str],
    rows: &[Row],
) -> String {
    let bars = rows
        .iter()
        .flat_map(|r| r.values.iter())
        .filter(|v| v.is_some_and(f64::is_finite))
        .count();
    let max = rows
        .iter()
        .flat_map(|r| r.values.iter().flatten())
        .cloned()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let per_row = series.len().max(1) as f64 * BAR_HEIGHT + BAR_GAP * 2.0;
    let legend = if series.len() > 1 { 20.0 } else { 0.0 };
    let height = TITLE_HEIGHT + legend + per_row * rows.len().max(1) as f64 + 10.0;
    let span = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" id="{}" data-bars="{bars}" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}">"#,
        escape(id),
        escape(title)
    );
    let _ = write!(
        svg,
        r##"<rect width="100%" height="100%" fill="#fcfcfc"/><text x="8" y="18" font-size="14" font-weight="bold" fill="#222">{} ({})</text>"##,
        escape(title),
        escape(unit)
    );
    if series.len() > 1 {
        for (i, name) in series.iter().enumerate() {
            let x = LABEL_WIDTH + i as f64 * 110.0;
            let _ = write!(
                svg,
                r##"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}" font-size="12" fill="#222">{}</text>"##,
                TITLE_HEIGHT - 4.0,
                COLOURS[i % COLOURS.len()],
                x + 16.0,
                TITLE_HEIGHT + 6.0,
                escape(name)
            );
        }
    }
    if bars == 0 {
        let _ = write!(
            svg,
            r##"<text x="{LABEL_WIDTH}" y="{}" font-size="13" fill="#a00">no figures: see the failures below</text>"##,
            TITLE_HEIGHT + legend + 16.0
        );
    }
    for (r, row) in rows.iter().enumerate() {
        let top = TITLE_HEIGHT + legend + r as f64 * per_row + BAR_GAP;
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" font-size="12" text-anchor="end" fill="#222">{}</text>"##,
            LABEL_WIDTH - 8.0,
            top + per_row / 2.0,
            escape(&row.label)
        );
        for (s, value) in row.values.iter().enumerate() {
            let y = top + s as f64 * BAR_HEIGHT;
            match value.filter(|v| v.is_finite()) {
                Some(v) => {
                    let w = if max > 0.0 {
                        (v / max * span).max(1.0)
                    } else {
                        1.0
                    };
                    let _ = write!(
                        svg,
                        r##"<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{w:.1}" height="{}" fill="{}"><title>{}: {} {}</title></rect><text x="{}" y="{}" font-size="11" fill="#222">{}</text>"##,
                        BAR_HEIGHT - 2.0,
                        COLOURS[s % COLOURS.len()],
                        escape(&row.label),
                        format_value(v),
                        escape(unit),
                        LABEL_WIDTH + w + 4.0,
                        y + BAR_HEIGHT - 4.0,
                        format_value(v)
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        r##"<text x="{}" y="{}" font-size="11" fill="#a00">not measured</text>"##,
                        LABEL_WIDTH + 4.0,
                        y + BAR_HEIGHT - 4.0
                    );
                }
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_bars_and_escapes() {
        let rows = vec![
            Row {
                label: "a<b".into(),
                values: vec![Some(1.0), None],
            },
            Row {
                label: "c".into(),
                values: vec![Some(3.0), Some(2.0)],
            },
        ];
        let svg = bar_chart("x", "T", "ms", &["p50", "p99"], &rows);
        assert!(svg.contains(r#"data-bars="3""#));
        assert!(svg.contains("a&lt;b"));
        assert_eq!(svg.matches("class=\"bar\"").count(), 3);
    }
}
