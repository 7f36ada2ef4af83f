//! The soak's plot: RSS and open descriptors of every process over time, as hand-written SVG
//! (one line per process: the supervisor black, workers coloured by generation; kills as red
//! and reloads as blue vertical lines).

use std::fmt::Write as _;

use crate::judge::Sample;

const W: f64 = 900.0;
const PANEL: f64 = 240.0;
const LEFT: f64 = 70.0;
const TOP: f64 = 30.0;
const GAP: f64 = 50.0;
/// A panel: its label and the value it plots.
type Panel = (&'static str, fn(&Sample) -> f64);

const COLOURS: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
];

pub fn svg(samples: &[Sample], total: f64, kills: &[(u32, f64)], reloads: &[f64]) -> String {
    let height = TOP + 2.0 * PANEL + GAP + 40.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let _ = writeln!(s, "<text x=\"{LEFT}\" y=\"18\">weft serve --workers 2 soak: black supervisor, colours worker generations; red kill -9, blue SIGHUP</text>");
    let panels: [Panel; 2] = [
        ("RSS (KiB)", |x| x.rss_kib as f64),
        ("open fds", |x| x.fds as f64),
    ];
    for (i, (label, value)) in panels.into_iter().enumerate() {
        let y0 = TOP + i as f64 * (PANEL + GAP);
        let max = samples.iter().map(value).fold(1.0, f64::max) * 1.1;
        let x = |t: f64| LEFT + t / total.max(1.0) * (W - LEFT - 20.0);
        let y = |v: f64| y0 + PANEL - v / max * PANEL;
        let _ = writeln!(s, "<rect x=\"{LEFT}\" y=\"{y0}\" width=\"{}\" height=\"{PANEL}\" fill=\"none\" stroke=\"#888\"/>", W - LEFT - 20.0);
        let _ = writeln!(s, "<text x=\"5\" y=\"{}\">{label}</text>", y0 + 12.0);
        for k in 0..=4 {
            let v = max * k as f64 / 4.0;
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v:.0}</text>",
                LEFT - 4.0,
                y(v) + 4.0
            );
        }
        for &(_, t) in kills {
            let _ = writeln!(s, "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{y0}\" y2=\"{1}\" stroke=\"red\" stroke-dasharray=\"3,3\"/>", x(t), y0 + PANEL);
        }
        for &t in reloads {
            let _ = writeln!(s, "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{y0}\" y2=\"{1}\" stroke=\"blue\" stroke-dasharray=\"3,3\"/>", x(t), y0 + PANEL);
        }
        let mut pids: Vec<u32> = samples.iter().map(|s| s.pid).collect();
        pids.sort_unstable();
        pids.dedup();
        for pid in pids {
            let of: Vec<&Sample> = samples.iter().filter(|s| s.pid == pid).collect();
            let colour = of[0]
                .generation
                .map_or("black", |g| COLOURS[g as usize % COLOURS.len()]);
            let points: Vec<String> = of
                .iter()
                .map(|p| format!("{:.1},{:.1}", x(p.at), y(value(p))))
                .collect();
            let _ = writeln!(
                s,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>",
                points.join(" ")
            );
        }
        if i == 1 {
            for k in 0..=10 {
                let t = total * k as f64 / 10.0;
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{t:.0} s</text>",
                    x(t),
                    y0 + PANEL + 16.0
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}
