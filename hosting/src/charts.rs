//! SVG charts of the experiments' results, drawn with `plotters` (SVG
//! backend only: no system fonts, no bitmap codecs; text is emitted as SVG
//! `<text>` elements the viewer renders with its own fonts).
//!
//! Owns: the charts the experiments report (dispatch-latency CDF per
//! policy, GPOS throughput versus RTOS utilization with reference lines, a
//! time such as hackbench's versus RTOS utilization with reference lines,
//! the migration cost's source and destination halves), each a function
//! taking plain data and writing one SVG file.
//!
//! Must not touch: the simulation, the experiment runner or its data files.
//! These functions compute nothing about the experiments beyond what they
//! draw (a CDF from samples, a mean for the legend).

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use std::fmt;
use std::path::Path;

/// Why a chart could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartError(pub String);

impl fmt::Display for ChartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chart: {}", self.0)
    }
}

impl std::error::Error for ChartError {}

fn err<E: fmt::Display>(e: E) -> ChartError {
    ChartError(e.to_string())
}

/// Chart size in pixels (SVG user units).
pub const SIZE: (u32, u32) = (960, 600);

/// Tableau-10: distinct, colour-blind-friendly series colours.
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Greys for reference lines, darkest first.
const GREYS: [RGBColor; 4] =
    [RGBColor(60, 60, 60), RGBColor(110, 110, 110), RGBColor(150, 150, 150), RGBColor(90, 90, 90)];

const FONT: &str = "sans-serif";

/// Most points drawn per CDF curve: a 100,000-sample series is drawn at
/// evenly spaced ranks (plus its minimum), which looks the same and keeps
/// the file small.
pub const MAX_CDF_POINTS: usize = 600;

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

/// A number for an axis label: no trailing zeros, no exponent.
fn tidy(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 1.0 {
        2
    } else {
        4
    };
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The empirical CDF of `values` (finite ones), as at most
/// `MAX_CDF_POINTS` + 1 points (x, fraction of samples <= x).
pub fn cdf_points(values: &[f64]) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return Vec::new();
    }
    let mut points = vec![(v[0], 1.0 / n as f64)];
    let steps = n.min(MAX_CDF_POINTS);
    for j in 1..=steps {
        // rank k (1-based) of the j-th evenly spaced point; the last is n
        let k = (j * n).div_ceil(steps);
        let p = (v[k - 1], k as f64 / n as f64);
        if points.last() != Some(&p) {
            points.push(p);
        }
    }
    points
}

fn mean(values: &[f64]) -> Option<f64> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Dispatch latency per policy as cumulative distributions: one curve per
/// series (`(policy, latencies in microseconds)`), the legend giving each
/// series' mean and sample count. The x axis is logarithmic when the
/// positive latencies span more than two decades (zeros are then drawn at
/// the smallest positive value).
pub fn latency_cdf(path: &Path, title: &str, series: &[(&str, &[f64])]) -> Result<(), ChartError> {
    let curves: Vec<(String, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(name, values)| {
            let label = match mean(values) {
                Some(m) => {
                    format!("{name} (mean {} us, n = {})", tidy(m), values.iter().filter(|x| x.is_finite()).count())
                }
                None => format!("{name} (no samples)"),
            };
            (label, cdf_points(values))
        })
        .collect();
    let xs = curves.iter().flat_map(|(_, p)| p.iter().map(|&(x, _)| x));
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let min_pos =
        curves.iter().flat_map(|(_, p)| p.iter().map(|&(x, _)| x)).filter(|&x| x > 0.0).fold(f64::INFINITY, f64::min);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    if !lo.is_finite() {
        draw_empty(&root, title)?;
    } else if min_pos.is_finite() && hi / min_pos > 100.0 {
        let floor = min_pos;
        let curves: Vec<(String, Vec<(f64, f64)>)> =
            curves.into_iter().map(|(l, p)| (l, p.into_iter().map(|(x, y)| (x.max(floor), y)).collect())).collect();
        cdf_on(&root, title, (floor / 1.2..hi * 1.2).log_scale(), &curves, "dispatch latency (us, log scale)")?;
    } else {
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 1.0, hi + 1.0) };
        let pad = (hi - lo) * 0.03;
        let lo = if lo >= 0.0 { (lo - pad).max(0.0) } else { lo - pad };
        cdf_on(&root, title, lo..hi + pad, &curves, "dispatch latency (us)")?;
    }
    root.present().map_err(err)
}

fn cdf_on<X>(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    x: X,
    curves: &[(String, Vec<(f64, f64)>)],
    x_desc: &str,
) -> Result<(), ChartError>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 24))
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(64)
        .build_cartesian_2d(x, 0.0..1.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("fraction of samples at or below")
        .x_label_formatter(&|v| tidy(*v))
        .y_label_formatter(&|v| tidy(*v))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for (i, (label, points)) in curves.iter().enumerate() {
        let c = colour(i);
        // a step function: hold each fraction until the next sample
        let mut steps = Vec::with_capacity(points.len() * 2);
        let mut prev_y = 0.0;
        for &(x, y) in points {
            steps.push((x, prev_y));
            steps.push((x, y));
            prev_y = y;
        }
        chart
            .draw_series(LineSeries::new(steps, c.stroke_width(2)))
            .map_err(err)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(err)?;
    Ok(())
}

fn draw_empty(root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>, title: &str) -> Result<(), ChartError> {
    let (w, h) = SIZE;
    root.draw(&Text::new(title.to_string(), (24, 24), (FONT, 24))).map_err(err)?;
    root.draw(&Text::new("no data".to_string(), (w as i32 / 2 - 30, h as i32 / 2), (FONT, 18))).map_err(err)?;
    Ok(())
}

/// GPOS throughput against RTOS utilization: one solid line with markers
/// per policy (`(policy, [(utilization %, throughput)])`) and one dashed
/// grey line per reference (`(name, points)`, e.g. the GPOS alone on 2, 3
/// and 4 cores, or the ideal S1 / (4 - f)).
pub fn throughput_vs_utilization(
    path: &Path,
    series: &[(&str, &[(f64, f64)])],
    reference_lines: &[(&str, &[(f64, f64)])],
) -> Result<(), ChartError> {
    let axes = Axes {
        caption: "GPOS throughput vs RTOS utilization",
        y_desc: "GPOS throughput",
        legend: SeriesLabelPosition::LowerLeft,
    };
    lines_vs_utilization(path, axes, series, reference_lines)
}

/// A time against RTOS utilization, where lower is better (e.g.
/// hackbench's time beside the RTOS): one solid line with markers per
/// policy (`(policy, [(utilization %, seconds)])`) and one dashed grey line
/// per reference (e.g. the ideal time). `title` is the caption; the y axis
/// reads "`y_desc` (lower is better)".
pub fn time_vs_utilization(
    path: &Path,
    title: &str,
    y_desc: &str,
    series: &[(&str, &[(f64, f64)])],
    reference_lines: &[(&str, &[(f64, f64)])],
) -> Result<(), ChartError> {
    let y_desc = format!("{y_desc} (lower is better)");
    let axes = Axes { caption: title, y_desc: &y_desc, legend: SeriesLabelPosition::UpperLeft };
    lines_vs_utilization(path, axes, series, reference_lines)
}

/// What a chart against RTOS utilization says about itself.
struct Axes<'a> {
    caption: &'a str,
    y_desc: &'a str,
    legend: SeriesLabelPosition,
}

/// Lines against RTOS utilization (x from 0 to 100 % or wider, y from 0):
/// the references dashed in greys, then the series solid with markers.
fn lines_vs_utilization(
    path: &Path,
    axes: Axes<'_>,
    series: &[(&str, &[(f64, f64)])],
    reference_lines: &[(&str, &[(f64, f64)])],
) -> Result<(), ChartError> {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let all = series.iter().chain(reference_lines).flat_map(|(_, p)| p.iter().filter(finite));
    let (mut x0, mut x1, mut y1) = (0.0f64, 100.0f64, 0.0f64);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let y1 = if y1 > 0.0 { y1 * 1.08 } else { 1.0 };
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(axes.caption, (FONT, 24))
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("RTOS utilization (%)")
        .y_desc(axes.y_desc)
        .x_label_formatter(&|v| tidy(*v))
        .y_label_formatter(&|v| tidy(*v))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for (i, (name, points)) in reference_lines.iter().enumerate() {
        let c = GREYS[i % GREYS.len()];
        let pts: Vec<(f64, f64)> = points.iter().filter(finite).copied().collect();
        chart.draw_series(DashedLineSeries::new(pts, 8, 5, c.stroke_width(2))).map_err(err)?.label(*name).legend(
            move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (8, 0)], c.stroke_width(2))
                    + PathElement::new(vec![(14, 0), (22, 0)], c.stroke_width(2))
            },
        );
    }
    for (i, (name, points)) in series.iter().enumerate() {
        let c = colour(i);
        let mut pts: Vec<(f64, f64)> = points.iter().filter(finite).copied().collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2))).map_err(err)?.label(*name).legend(
            move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (22, 0)], c.stroke_width(2))
                    + Circle::new((11, 0), 4, c.filled())
            },
        );
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled()))).map_err(err)?;
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(axes.legend)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// The migration cost split into its halves: one stacked bar per row
/// (`(kind, source half us, destination half us)`, e.g. "departure",
/// "return"), each part labelled with its value and the bar with its total.
pub fn migration_cost_bars(path: &Path, rows: &[(&str, f64, f64)]) -> Result<(), ChartError> {
    let clean = |v: f64| if v.is_finite() && v > 0.0 { v } else { 0.0 };
    let rows: Vec<(&str, f64, f64)> = rows.iter().map(|&(n, s, d)| (n, clean(s), clean(d))).collect();
    let top = rows.iter().map(|&(_, s, d)| s + d).fold(0.0, f64::max);
    let y1 = if top > 0.0 { top * 1.3 } else { 1.0 };
    let n = rows.len().max(1);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("vCPU migration cost: source and destination halves", (FONT, 24))
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("microseconds of simulated time")
        .y_label_formatter(&|v| tidy(*v))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    let (src_c, dst_c) = (colour(0), colour(1));
    let half_width = if n == 1 { 0.2 } else { 0.28 };
    let bar = |i: usize, y0: f64, y1: f64, c: RGBColor| {
        Rectangle::new([(i as f64 - half_width, y0), (i as f64 + half_width, y1)], c.filled())
    };
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| bar(i, 0.0, r.1, src_c)))
        .map_err(err)?
        .label("source half")
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], src_c.filled()));
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| bar(i, r.1, r.1 + r.2, dst_c)))
        .map_err(err)?
        .label("destination half")
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], dst_c.filled()));
    let centred = |size: u32, c: &'static RGBColor| {
        TextStyle::from((FONT, size).into_font()).color(c).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        ))
    };
    let mut labels: Vec<Text<'_, (f64, f64), String>> = Vec::new();
    for (i, &(name, s, d)) in rows.iter().enumerate() {
        let x = i as f64;
        if s > 0.0 {
            labels.push(Text::new(format!("{} us", tidy(s)), (x, s / 2.0), centred(15, &WHITE)));
        }
        if d > 0.0 {
            labels.push(Text::new(format!("{} us", tidy(d)), (x, s + d / 2.0), centred(15, &WHITE)));
        }
        labels.push(Text::new(format!("total {} us", tidy(s + d)), (x, s + d + y1 * 0.04), centred(15, &BLACK)));
        // the category's name under its bar, in the label area below the axis
        let (px, py) = chart.backend_coord(&(x, 0.0));
        root.draw(&Text::new(name.to_string(), (px, py + 20), centred(16, &BLACK))).map_err(err)?;
    }
    chart.draw_series(labels).map_err(err)?;
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory of its own per test, removed when the test ends.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(test: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("rp1-charts-{}-{test}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn path(&self, name: &str) -> std::path::PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Well-formed enough to open: one <svg> root, every tag closed in order,
    /// no stray '<' or '&' in text.
    fn assert_well_formed_svg(svg: &str) {
        assert!(svg.trim_start().starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.trim_end().ends_with("</svg>"));
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        let mut roots = 0;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            for (i, _) in text.match_indices('&') {
                let entity = &text[i..text.len().min(i + 8)];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"].iter().any(|e| entity.starts_with(e)),
                    "bare & in text: {entity}"
                );
            }
            let close = rest[open..].find('>').expect("unclosed tag") + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
            if tag.starts_with('?') || tag.starts_with('!') {
            } else if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap();
                if stack.is_empty() {
                    roots += 1;
                }
                stack.push(name);
            } else if stack.is_empty() {
                roots += 1;
            }
            rest = &rest[close + 1..];
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        assert_eq!(roots, 1);
        assert!(svg.contains("<text"), "no text drawn");
    }

    #[test]
    fn cdf_points_are_exact_fractions() {
        assert_eq!(cdf_points(&[3.0, 1.0, 2.0, f64::NAN]), vec![(1.0, 1.0 / 3.0), (2.0, 2.0 / 3.0), (3.0, 1.0)]);
        assert_eq!(cdf_points(&[]), vec![]);
        let many: Vec<f64> = (0..100_000).map(|i| i as f64).collect();
        let p = cdf_points(&many);
        assert!(p.len() <= MAX_CDF_POINTS + 1);
        assert_eq!(p[0], (0.0, 1.0 / 100_000.0));
        assert_eq!(*p.last().unwrap(), (99_999.0, 1.0));
        assert!(p.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1));
    }

    #[test]
    fn latency_cdf_writes_an_svg_with_every_policy() {
        let dir = Scratch::new("latency");
        // log-x: 0.5 .. 300 us; includes a zero and a non-finite value
        let dp: Vec<f64> = (0..5000).map(|i| 5.0 + (i % 97) as f64 * 0.4).collect();
        let trap: Vec<f64> = (0..5000).map(|i| 0.5 + (i % 13) as f64 * 0.2).chain([0.0, f64::INFINITY]).collect();
        let od: Vec<f64> = (0..5000).map(|i| 2.0 + (i % 31) as f64 * 0.15 + if i == 7 { 300.0 } else { 0.0 }).collect();
        let path = dir.path("latency.svg");
        latency_cdf(
            &path,
            "RTOS dispatch latency <& GPOS load>",
            &[("delayed-preemption", &dp), ("trap-migration", &trap), ("on-demand-migration", &od)],
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert_well_formed_svg(&svg);
        for name in
            ["delayed-preemption", "trap-migration", "on-demand-migration", "log scale", "&lt;&amp; GPOS load&gt;"]
        {
            assert!(svg.contains(name), "{name} missing");
        }
        // linear axis, one series, all values equal
        let path = dir.path("latency-linear.svg");
        latency_cdf(&path, "flat", &[("none", &[4.0, 4.0])]).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert_well_formed_svg(&svg);
        assert!(svg.contains("none (mean 4 us, n = 2)") && !svg.contains("log scale"));
        // nothing at all still gives a readable file
        let path = dir.path("latency-empty.svg");
        latency_cdf(&path, "empty", &[("none", &[])]).unwrap();
        assert_well_formed_svg(&std::fs::read_to_string(&path).unwrap());
    }

    #[test]
    fn throughput_chart_has_policies_and_dashed_references() {
        let dir = Scratch::new("throughput");
        let util: Vec<f64> = (0..=10).map(|i| i as f64 * 10.0).collect();
        let none: Vec<(f64, f64)> = util.iter().map(|&u| (u, 100.0 - u * 0.9)).collect();
        let od: Vec<(f64, f64)> = util.iter().map(|&u| (u, 100.0 - u * 0.25)).collect();
        let alone: Vec<(f64, f64)> = vec![(0.0, 75.0), (100.0, 75.0)];
        let ideal: Vec<(f64, f64)> = util.iter().map(|&u| (u, 300.0 / (4.0 - u / 100.0))).collect();
        let path = dir.path("throughput.svg");
        throughput_vs_utilization(
            &path,
            &[("none", &none), ("on-demand-migration", &od)],
            &[("GPOS alone, 3 cores", &alone), ("ideal S1/(4-f)", &ideal)],
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert_well_formed_svg(&svg);
        for name in ["none", "on-demand-migration", "GPOS alone, 3 cores", "ideal S1/(4-f)", "RTOS utilization (%)"] {
            assert!(svg.contains(name), "{name} missing");
        }
        assert!(svg.contains("<circle"), "no markers");
    }

    #[test]
    fn time_chart_says_lower_is_better_and_draws_a_line_per_policy() {
        let dir = Scratch::new("time");
        let none: Vec<(f64, f64)> = vec![(0.0, 0.66), (50.0, 1.02), (100.0, 1.9)];
        let dp: Vec<(f64, f64)> = vec![(0.0, 0.61), (50.0, f64::NAN), (100.0, 1.2)];
        let ideal: Vec<(f64, f64)> = (0..=10).map(|i| (i as f64 * 10.0, 0.5 * 4.0 / (4.0 - i as f64 / 10.0))).collect();
        let path = dir.path("time.svg");
        time_vs_utilization(
            &path,
            "hackbench beside the RTOS",
            "hackbench time (s)",
            &[("none", &none), ("delayed-preemption", &dp)],
            &[("ideal: 0.5 s x 4 / (4 - U/100)", &ideal)],
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert_well_formed_svg(&svg);
        for text in [
            "hackbench beside the RTOS",
            "hackbench time (s) (lower is better)",
            "RTOS utilization (%)",
            "none",
            "delayed-preemption",
            "ideal: 0.5 s x 4 / (4 - U/100)",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        // A marker per finite point (the NaN is left out) and one in each
        // policy's legend entry.
        assert_eq!(svg.matches("<circle").count(), 3 + 2 + 2);
        assert!(time_vs_utilization(Path::new("/nonexistent-dir/t.svg"), "t", "s", &[("none", &none)], &[]).is_err());
    }

    #[test]
    fn migration_bars_stack_the_halves() {
        let dir = Scratch::new("migration");
        let path = dir.path("migration.svg");
        migration_cost_bars(&path, &[("departure", 24.9, 28.0), ("return", 38.1, 12.0)]).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert_well_formed_svg(&svg);
        for text in [
            "departure",
            "return",
            "source half",
            "destination half",
            "24.9 us",
            "28 us",
            "total 52.9 us",
            "total 50.1 us",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        migration_cost_bars(&dir.path("migration-empty.svg"), &[]).unwrap();
        let path = dir.path("migration-one.svg");
        migration_cost_bars(&path, &[("departure", 24.9, 28.0)]).unwrap();
        assert_well_formed_svg(&std::fs::read_to_string(&path).unwrap());
    }

    #[test]
    fn an_unwritable_path_is_an_error_not_a_panic() {
        let e = migration_cost_bars(Path::new("/nonexistent-dir/x/y.svg"), &[("departure", 1.0, 2.0)]);
        assert!(e.is_err());
    }
}
