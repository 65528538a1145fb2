//! The figures of `cqgrav plot`: pages of panels of curves against t, drawn the same way as SVG (text stays text,
//! with the font embedded in the file) and as PNG. The text is set in a subset of DejaVu Sans compiled into the
//! binary (`assets/fonts/`, Bitstream Vera license with the DejaVu changes in the public domain: embedding and
//! redistribution are allowed), rendered by ab_glyph through plotters — no system fonts are needed.
//!
//! A panel is its plot area with axes (tick labels, axis labels with units) and, in a column to its right, the
//! legend: never over the data. Log axes are robust: their range comes from the rows after the first (the step-0
//! constraint is round-off, 1e-16, and would squeeze the evolution into the top of the axis); values below the
//! range are marked by a triangle on the bottom axis and named in the legend, values ≤ 0 are left out (and the
//! legend says so).
use super::number::g;
use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// The family name the embedded font is registered (and, in SVG files, declared) under.
pub const FONT: &str = "DejaVu Sans";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");

/// Registers the embedded font with plotters (once).
pub fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // the bytes are a valid TrueType font (tests/plot_pages.rs draws with it); if not, text would be missing
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
}

pub const INK: RGBColor = RGBColor(30, 30, 30);
pub const MUTED: RGBColor = RGBColor(110, 110, 110);
const GRID: RGBColor = RGBColor(228, 228, 228);
/// Colour-blind-safe qualitative palette (Okabe & Ito 2008), black first left out.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
];

/// How a curve is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    Line,
    Dashed,
    /// thin and light: one of many (the realisations of an ensemble); one legend entry for all with its label
    Faint,
}

/// y(x) with a label and a colour (index into [`PALETTE`]); optionally a band (lower, upper) around it.
#[derive(Debug, Clone)]
pub struct Curve {
    pub label: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub color: usize,
    pub style: Style,
    pub band: Option<(Vec<f64>, Vec<f64>)>,
}

impl Curve {
    pub fn line(label: impl Into<String>, x: &[f64], y: &[f64], color: usize) -> Self {
        Self { label: label.into(), x: x.to_vec(), y: y.to_vec(), color, style: Style::Line, band: None }
    }
}

/// One plot: curves against the page's x, its y-axis label (with units), linear or log.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    pub ylabel: String,
    pub log: bool,
    pub curves: Vec<Curve>,
    /// a horizontal reference line (e.g. the expected value 1 of a ratio) with its legend text
    pub reference: Option<(f64, String)>,
    /// extra lines under the legend
    pub notes: Vec<String>,
    /// a log axis spans every point, the first included (x is not time: there is no step-0 round-off to skip)
    pub all_points: bool,
}

/// A page: a title, the file it shows, panels in `columns` columns, the x-axis label and a footnote.
#[derive(Debug, Clone)]
pub struct Page {
    /// file stem: `<name>.svg`, `<name>.png`
    pub name: String,
    pub title: String,
    pub subtitle: String,
    pub xlabel: String,
    pub footer: String,
    pub panels: Vec<Panel>,
    pub columns: usize,
}

/// Pixel sizes of a page (the SVG uses the same coordinates).
const PANEL_H: u32 = 430;
const HEADER_H: u32 = 96;
const FOOTER_H: u32 = 44;

impl Page {
    pub fn size(&self) -> (u32, u32) {
        let cols = self.columns.max(1) as u32;
        let rows = (self.panels.len() as u32).div_ceil(cols).max(1);
        let w = if cols == 1 { 1500 } else { 1000 * cols };
        (w, HEADER_H + rows * PANEL_H + FOOTER_H)
    }

    /// Writes `<dir>/<name>.svg` and `<dir>/<name>.png`; returns both paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        register_font();
        let (svg_path, png_path) = (dir.join(format!("{}.svg", self.name)), dir.join(format!("{}.png", self.name)));
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, self.size()).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(|e| anyhow!("{e}"))?;
        }
        std::fs::write(&svg_path, embed_font(&svg)).with_context(|| format!("writing {}", svg_path.display()))?;
        {
            let root = BitMapBackend::new(&png_path, self.size()).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(|e| anyhow!("writing {}: {e}", png_path.display()))?;
        }
        Ok(vec![svg_path, png_path])
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
        root.fill(&WHITE).map_err(e)?;
        let (w, h) = root.dim_in_pixel();
        let (header, rest) = root.split_vertically(HEADER_H);
        let (body, footer) = rest.split_vertically(h - HEADER_H - FOOTER_H);
        header.draw_text(&self.title, &text_style(34.0, INK), (40, 14)).map_err(e)?;
        header.draw_text(&self.subtitle, &text_style(20.0, MUTED), (40, 60)).map_err(e)?;
        footer.draw_text(&self.footer, &text_style(19.0, MUTED), (40, 10)).map_err(e)?;
        let cols = self.columns.max(1);
        let rows = self.panels.len().div_ceil(cols).max(1);
        let cells = body.split_evenly((rows, cols));
        for (panel, cell) in self.panels.iter().zip(&cells) {
            panel.draw(cell, &self.xlabel)?;
        }
        let _ = w;
        Ok(())
    }
}

pub fn text_style(size: f64, color: RGBColor) -> TextStyle<'static> {
    TextStyle { font: (FONT, size).into_font(), color: color.to_backend_color(), pos: Default::default() }
}

/// The SVG with the embedded font declared in it (`@font-face` with the TrueType bytes), so that it renders with
/// the same glyphs everywhere and its text stays editable text.
fn embed_font(svg: &str) -> String {
    use base64::Engine as _;
    let font = base64::engine::general_purpose::STANDARD.encode(FONT_BYTES);
    let style = format!(
        "<defs><style>@font-face {{ font-family: \"{FONT}\"; src: url(data:font/ttf;base64,{font}) format(\"truetype\"); }}</style></defs>"
    );
    match svg.find("<svg").and_then(|i| svg[i..].find('>').map(|j| i + j + 1)) {
        Some(at) => format!("{}\n{style}{}", &svg[..at], &svg[at..]),
        None => svg.to_string(),
    }
}

/// The range of a linear axis over finite values (5 % padding; a flat curve gets a band around its value).
pub fn linear_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return None;
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.05 * lo.abs().max(1e-12) };
    Some((lo - pad, hi + pad))
}

/// The decade range (log10 units) of a log axis: from the positive finite values of the rows after the first
/// (all rows when that leaves none), padded by 0.15 decades. A first row far below is what the legend marks.
pub fn log_range(curves: &[&[f64]], all_points: bool) -> Option<(f64, f64)> {
    let pick = |skip: usize| -> Vec<f64> {
        curves.iter().flat_map(|c| c.iter().skip(skip).copied()).filter(|v| v.is_finite() && *v > 0.0).map(f64::log10).collect()
    };
    let mut v = pick(if all_points { 0 } else { 1 });
    if v.is_empty() {
        v = pick(0);
    }
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return None;
    }
    let pad = if hi - lo > 1e-9 { 0.15 } else { 0.5 };
    Some((lo - pad, hi + pad))
}

/// Tick label of a log axis (the axis value is log10 y): 10ⁿ at whole decades, else y to 3 digits.
pub fn log_tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        let k = v.round() as i64;
        if k == 0 {
            return "1".into();
        }
        let sup: String = k.to_string().chars().map(superscript).collect();
        format!("10{sup}")
    } else {
        g(10f64.powf(v), 3)
    }
}

fn superscript(c: char) -> char {
    match c {
        '-' => '⁻',
        '0' => '⁰',
        '1' => '¹',
        '2' => '²',
        '3' => '³',
        d => char::from_u32(0x2070 + d.to_digit(10).unwrap_or(0)).unwrap_or(d),
    }
}

/// Tick label of a linear axis with ticks about `step` apart: enough decimals to tell neighbours apart.
pub fn linear_tick(v: f64, step: f64) -> String {
    let step = step.abs().max(f64::MIN_POSITIVE);
    // a tick at zero computed with round-off (e.g. 6e-30 on an axis with ticks 2e-14 apart) is zero
    if v.abs() < 1e-6 * step {
        return "0".into();
    }
    let mag = v.abs().max(step);
    if !(1e-3..1e5).contains(&mag) {
        return g(v, 3);
    }
    let decimals = (-(step.log10().floor()) as i32 + 1).clamp(0, 10) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Nice tick values covering [lo, hi] (about `n` of them: steps of 1, 2, 2.5 or 5 times a power of ten).
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).abs().max(f64::MIN_POSITIVE);
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A curve split at the points it cannot show (non-finite, or ≤ 0 on a log axis), in axis values.
fn segments(x: &[f64], y: &[f64], log: bool) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for (&a, &b) in x.iter().zip(y) {
        let shown = a.is_finite() && b.is_finite() && (!log || b > 0.0);
        if shown {
            out.last_mut().expect("non-empty").push((a, if log { b.log10() } else { b }));
        } else if !out.last().expect("non-empty").is_empty() {
            out.push(Vec::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

impl Panel {
    /// The axis ranges: x over every curve, y linear or in decades.
    fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let xs = self.curves.iter().flat_map(|c| c.x.iter().copied());
        let (x0, x1) = xs.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let (x0, x1) = if !x0.is_finite() { (0.0, 1.0) } else if x1 > x0 { (x0, x1) } else { (x0 - 0.5, x0 + 0.5) };
        let y = if self.log {
            let mut cols: Vec<&[f64]> = self.curves.iter().map(|c| c.y.as_slice()).collect();
            for c in &self.curves {
                if let Some((lo, hi)) = &c.band {
                    cols.push(lo);
                    cols.push(hi);
                }
            }
            log_range(&cols, self.all_points)
        } else {
            let bands = self.curves.iter().filter_map(|c| c.band.as_ref()).flat_map(|(lo, hi)| lo.iter().chain(hi.iter()).copied());
            let refs = self.reference.iter().map(|r| r.0);
            linear_range(self.curves.iter().flat_map(|c| c.y.iter().copied()).chain(bands).chain(refs))
        };
        ((x0, x1), y.unwrap_or((0.0, 1.0)))
    }

    fn draw<DB: DrawingBackend>(&self, cell: &DrawingArea<DB, Shift>, xlabel: &str) -> Result<()> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
        let (w, _) = cell.dim_in_pixel();
        let legend_w = (w as f64 * 0.27).clamp(240.0, 420.0) as u32;
        let (plot, legend) = cell.split_horizontally(w - legend_w);
        let ((x0, x1), (y0, y1)) = self.ranges();
        let log = self.log;
        let mut chart = ChartBuilder::on(&plot)
            .margin_top(14)
            .margin_right(24)
            .margin_left(12)
            .x_label_area_size(78)
            .y_label_area_size(138)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(e)?;
        let xspan = x1 - x0;
        let yspan = y1 - y0;
        let xfmt = move |v: &f64| linear_tick(*v, xspan / 8.0);
        let yfmt = move |v: &f64| if log { log_tick(*v) } else { linear_tick(*v, yspan / 7.0) };
        chart
            .configure_mesh()
            .x_desc(xlabel)
            .y_desc(self.ylabel.as_str())
            .label_style(text_style(22.0, INK))
            .axis_desc_style(text_style(24.0, INK))
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yfmt)
            .x_labels(8)
            .y_labels(7)
            .bold_line_style(GRID.stroke_width(1))
            .light_line_style(WHITE.mix(0.0))
            .axis_style(INK.stroke_width(2))
            .draw()
            .map_err(e)?;
        if let Some((v, _)) = &self.reference {
            let v = if log { v.log10() } else { *v };
            if v.is_finite() {
                chart.draw_series(std::iter::once(PathElement::new(vec![(x0, v), (x1, v)], MUTED.stroke_width(2)))).map_err(e)?;
            }
        }
        // bands first, then faint curves, then the lines on top
        for c in &self.curves {
            if let Some((lo, hi)) = &c.band {
                let color = PALETTE[c.color % PALETTE.len()];
                let floor = if log { Some(y0) } else { None };
                let to_y = |v: f64| if log { if v > 0.0 { v.log10() } else { floor.unwrap_or(y0) } } else { v };
                let mut pts: Vec<(f64, f64)> = Vec::new();
                let mut back: Vec<(f64, f64)> = Vec::new();
                for ((&x, &l), &h) in c.x.iter().zip(lo).zip(hi) {
                    if x.is_finite() && l.is_finite() && h.is_finite() {
                        pts.push((x, to_y(h).max(y0).min(y1)));
                        back.push((x, to_y(l).max(y0).min(y1)));
                    }
                }
                back.reverse();
                pts.extend(back);
                if pts.len() >= 3 {
                    chart.draw_series(std::iter::once(Polygon::new(pts, color.mix(0.22).filled()))).map_err(e)?;
                }
            }
        }
        for pass in [Style::Faint, Style::Line, Style::Dashed] {
            for c in self.curves.iter().filter(|c| c.style == pass) {
                let color = PALETTE[c.color % PALETTE.len()];
                let style = match c.style {
                    Style::Faint => color.mix(0.35).stroke_width(1),
                    _ => color.stroke_width(3),
                };
                for seg in segments(&c.x, &c.y, log) {
                    if seg.len() == 1 {
                        chart.draw_series(std::iter::once(Circle::new(seg[0], 4, color.filled()))).map_err(e)?;
                    } else if c.style == Style::Dashed {
                        let dashes: Vec<Vec<(f64, f64)>> =
                            seg.windows(2).enumerate().filter(|(k, _)| (k / 3) % 2 == 0).map(|(_, w)| w.to_vec()).collect();
                        chart.draw_series(dashes.into_iter().map(|d| PathElement::new(d, style))).map_err(e)?;
                    } else {
                        chart.draw_series(std::iter::once(PathElement::new(seg, style))).map_err(e)?;
                    }
                }
                // values below a log axis (the step-0 round-off): a triangle on the bottom axis
                if log {
                    for (&x, &y) in c.x.iter().zip(&c.y) {
                        if x.is_finite() && y.is_finite() && y > 0.0 && y.log10() < y0 && c.style != Style::Faint {
                            let tri = EmptyElement::at((x, y0)) + Polygon::new(vec![(-9, -16), (9, -16), (0, 0)], color.filled());
                            chart.draw_series(std::iter::once(tri)).map_err(e)?;
                        }
                    }
                }
            }
        }
        self.draw_legend(&legend, (y0, y1)).map_err(|err| anyhow!("legend: {err}"))
    }

    /// The legend entries: (colour, style, label), one per label, in order of appearance, with what a log axis
    /// could not show appended to the label.
    pub fn legend_entries(&self, y0: f64) -> Vec<(usize, Style, bool, String)> {
        let mut out: Vec<(usize, Style, bool, String)> = Vec::new();
        for c in &self.curves {
            if out.iter().any(|(_, _, _, l)| l.starts_with(&c.label)) {
                continue;
            }
            let finite: Vec<f64> = c.y.iter().copied().filter(|v| v.is_finite()).collect();
            let mut label = c.label.clone();
            if finite.is_empty() {
                label.push_str(" (no values)");
            } else if self.log && finite.iter().all(|&v| v <= 0.0) {
                label.push_str(" (0 throughout)");
            } else if self.log {
                let below: Vec<(f64, f64)> =
                    c.x.iter().zip(&c.y).filter(|(_, &y)| y.is_finite() && y > 0.0 && y.log10() < y0).map(|(&x, &y)| (x, y)).collect();
                if let Some(&(x, y)) = below.first() {
                    let more = if below.len() > 1 { format!(" and {} more", below.len() - 1) } else { String::new() };
                    label.push_str(&format!(" (t = {}: {}{more}, below the axis, marked by a triangle)", g(x, 4), g(y, 2)));
                }
                if finite.iter().any(|&v| v <= 0.0) && finite.iter().any(|&v| v > 0.0) {
                    label.push_str(" (zeros not drawn)");
                }
            }
            out.push((c.color, c.style, c.band.is_some(), label));
        }
        out
    }

    fn draw_legend<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, (y0, _y1): (f64, f64)) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (w, _) = area.dim_in_pixel();
        let font = text_style(21.0, INK);
        let small = text_style(18.0, MUTED);
        let max_w = w as i32 - 70;
        let mut y = 22;
        let mut entries: Vec<(Option<(usize, Style, bool)>, String)> =
            self.legend_entries(y0).into_iter().map(|(c, s, b, l)| (Some((c, s, b)), l)).collect();
        if let Some((_, label)) = &self.reference {
            entries.push((None, label.clone()));
        }
        for (kind, label) in entries {
            let lines = wrap(area, &label, &font, max_w);
            match kind {
                Some((c, style, band)) => {
                    let color = PALETTE[c % PALETTE.len()];
                    if band {
                        area.draw(&Rectangle::new([(8, y), (48, y + 20)], color.mix(0.22).filled()))?;
                    }
                    let stroke = if style == Style::Faint { color.mix(0.5).stroke_width(2) } else { color.stroke_width(4) };
                    if style == Style::Dashed {
                        area.draw(&PathElement::new(vec![(8, y + 10), (22, y + 10)], stroke))?;
                        area.draw(&PathElement::new(vec![(34, y + 10), (48, y + 10)], stroke))?;
                    } else {
                        area.draw(&PathElement::new(vec![(8, y + 10), (48, y + 10)], stroke))?;
                    }
                }
                None => area.draw(&PathElement::new(vec![(8, y + 10), (48, y + 10)], MUTED.stroke_width(2)))?,
            }
            for (k, line) in lines.iter().enumerate() {
                area.draw_text(line, &font, (58, y + k as i32 * 25))?;
            }
            y += 25 * lines.len() as i32 + 12;
        }
        for note in &self.notes {
            for line in wrap(area, note, &small, max_w) {
                area.draw_text(&line, &small, (10, y))?;
                y += 22;
            }
            y += 6;
        }
        Ok(())
    }
}

/// `text` broken at spaces into lines no wider than `width` pixels.
fn wrap<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, style: &TextStyle, width: i32) -> Vec<String> {
    let fits = |s: &str| area.estimate_text_size(s, style).map_or(true, |(w, _)| w as i32 <= width);
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let candidate = if cur.is_empty() { word.to_string() } else { format!("{cur} {word}") };
        if fits(&candidate) || cur.is_empty() {
            cur = candidate;
        } else {
            lines.push(std::mem::take(&mut cur));
            cur = word.to_string();
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The step-0 round-off does not set the log range; it is marked in the legend instead.
    #[test]
    fn log_axis_starts_after_the_round_off_of_step_zero() {
        let y = [2.2e-16, 1e-9, 3e-9, 1e-8, 4e-8];
        let (lo, hi) = log_range(&[&y], false).unwrap();
        assert!((lo - (-9.15)).abs() < 1e-9 && (hi - (4e-8f64.log10() + 0.15)).abs() < 1e-9, "{lo} {hi}");
        let t = [0.0, 0.1, 0.2, 0.3, 0.4];
        let p = Panel { ylabel: "x".into(), log: true, curves: vec![Curve::line("ham_rel", &t, &y, 0)], ..Default::default() };
        let entries = p.legend_entries(lo);
        assert!(entries[0].3.contains("t = 0: 2.2e-16") && entries[0].3.contains("below the axis"), "{entries:?}");
        // zeros throughout are said, not plotted
        let z = [0.0; 5];
        let p = Panel { log: true, curves: vec![Curve::line("mom_rel", &t, &z, 1)], ..Default::default() };
        assert!(p.legend_entries(-9.0)[0].3.ends_with("(0 throughout)"));
        // a single row still has a range
        assert!(log_range(&[&[1e-3]], false).is_some());
        assert_eq!(log_range(&[&[0.0, f64::NAN]], false), None);
    }

    #[test]
    fn tick_labels() {
        assert_eq!(log_tick(-8.0), "10⁻⁸");
        assert_eq!(log_tick(0.0), "1");
        assert_eq!(log_tick(12.0), "10¹²");
        assert_eq!(log_tick(-7.5), "3.16e-08");
        assert_eq!(linear_tick(0.25, 0.25), "0.25");
        assert_eq!(linear_tick(1.0004, 0.0002), "1.0004");
        assert_eq!(linear_tick(2e-8, 1e-8), "2e-08");
        assert_eq!(linear_tick(6.31e-30, 2e-14), "0");
        assert_eq!(ticks(0.0, 2.0, 8), vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]);
        assert_eq!(ticks(-1.0, 1.0, 4), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    }

    /// The legend column is beside the plot area, never inside it.
    #[test]
    fn legend_is_outside_the_plot_area() {
        register_font();
        let t: Vec<f64> = (0..50).map(|i| i as f64 * 0.1).collect();
        let y: Vec<f64> = t.iter().map(|x| x.sin()).collect();
        let page = Page {
            name: "p".into(),
            title: "t".into(),
            subtitle: "s".into(),
            xlabel: "t".into(),
            footer: "f".into(),
            panels: vec![Panel { ylabel: "y".into(), curves: vec![Curve::line("a curve with a long legend label that wraps", &t, &y, 0)], ..Default::default() }],
            columns: 1,
        };
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, page.size()).into_drawing_area();
            page.draw(&root).unwrap();
            root.present().unwrap();
        }
        // the curve's x positions end left of the legend text's
        let max_path_x = svg
            .split("<polyline")
            .skip(1)
            .flat_map(|p| p.split("points=\"").nth(1).unwrap_or("").split('"').next().unwrap_or("").split(' ').map(String::from).collect::<Vec<_>>())
            .filter_map(|pt| pt.split(',').next().and_then(|x| x.parse::<f64>().ok()))
            .fold(0.0f64, f64::max);
        let label_x = svg
            .split("<text")
            .filter(|s| s.contains("a curve with"))
            .filter_map(|s| s.split("x=\"").nth(1).and_then(|r| r.split('"').next()).and_then(|x| x.parse::<f64>().ok()))
            .fold(f64::INFINITY, f64::min);
        assert!(max_path_x > 100.0 && label_x > max_path_x, "legend at x = {label_x}, curve up to x = {max_path_x}");
    }
}
