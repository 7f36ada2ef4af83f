//! Writing the Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` once
//! per family, then one `name{labels} value` line per sample, label values escaped (`\\`,
//! `\"`, `\n`), help text escaped (`\\`, `\n`), floats as Prometheus reads them (`+Inf`,
//! `NaN`).

use std::fmt::Write;

/// The family types this crate writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// A text exposition being written; every sample carries the constant labels.
#[derive(Debug)]
pub(crate) struct Exposition<'a> {
    pub(crate) out: String,
    constant: &'a [(String, String)],
}

impl<'a> Exposition<'a> {
    pub(crate) fn new(constant: &'a [(String, String)]) -> Exposition<'a> {
        Exposition {
            out: String::with_capacity(8 * 1024),
            constant,
        }
    }

    /// The `# HELP` and `# TYPE` lines of family `name`.
    pub(crate) fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let _ = write!(self.out, "# HELP {name} ");
        for c in help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        let _ = writeln!(self.out, "\n# TYPE {name} {kind}");
    }

    /// One sample line.
    pub(crate) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        let all = self
            .constant
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(labels.iter().copied());
        let mut first = true;
        for (key, value) in all {
            self.out.push(if first { '{' } else { ',' });
            first = false;
            let _ = write!(self.out, "{key}=\"");
            escape_label_value(&mut self.out, value);
            self.out.push('"');
        }
        if !first {
            self.out.push('}');
        }
        self.out.push(' ');
        push_float(&mut self.out, value);
        self.out.push('\n');
    }

    /// A whole histogram sample set: cumulative `_bucket{le=..}` lines (`+Inf` last, equal to
    /// `count`), `_sum` and `_count`.
    pub(crate) fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        cumulative: impl IntoIterator<Item = (f64, u64)>,
        sum: f64,
        count: u64,
    ) {
        let bucket = format!("{name}_bucket");
        for (upper, n) in cumulative {
            let le = float_text(upper);
            let mut with_le: Vec<(&str, &str)> = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, n as f64);
        }
        let mut with_le: Vec<(&str, &str)> = labels.to_vec();
        with_le.push(("le", "+Inf"));
        self.sample(&bucket, &with_le, count as f64);
        self.sample(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, count as f64);
    }
}

/// A label value with `\`, `"` and line feeds escaped, as the format requires.
pub(crate) fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn float_text(value: f64) -> String {
    let mut text = String::new();
    push_float(&mut text, value);
    text
}

fn push_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        // Rust's shortest round-trip form (`0.00025`, `13`); Prometheus parses both.
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_help_are_escaped() {
        let constant = [("worker".to_string(), "0".to_string())];
        let mut e = Exposition::new(&constant);
        e.family("x_total", Kind::Counter, "a \\ b\nc");
        e.sample("x_total", &[("route", "/a\"b\\c\nd")], 2.0);
        e.sample("y", &[], f64::INFINITY);
        assert_eq!(
            e.out,
            "# HELP x_total a \\\\ b\\nc\n# TYPE x_total counter\n\
             x_total{worker=\"0\",route=\"/a\\\"b\\\\c\\nd\"} 2\ny{worker=\"0\"} +Inf\n"
        );
    }
}
