//! Charts drawn on the server as SVG text, so they show without JavaScript. Every label is
//! escaped; numbers are plain decimals.

/// Escapes text for SVG/HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn max_of(values: &[f64]) -> f64 {
    values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max)
}

/// A bar per label (events per day): `title` names the chart for screen readers.
pub fn bars(title: &str, labels: &[String], values: &[f64]) -> String {
    let (w, h, pad_b, pad_l) = (600.0, 160.0, 20.0, 36.0);
    let n = values.len().max(1) as f64;
    let max = max_of(values).max(1.0);
    let slot = (w - pad_l) / n;
    let mut out = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
    out.push_str(&format!(
        r#"<text x="0" y="12" class="axis">{}</text><text x="0" y="{}" class="axis">0</text>"#,
        fmt_num(max),
        h - pad_b
    ));
    for (i, v) in values.iter().enumerate() {
        let bh = if v.is_finite() {
            (h - pad_b - 8.0) * v / max
        } else {
            0.0
        };
        let x = pad_l + slot * i as f64;
        let label = labels.get(i).map_or("", String::as_str);
        out.push_str(&format!(
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" class="bar"><title>{l}: {v}</title></rect>"#,
            y = h - pad_b - bh,
            bw = (slot - 2.0).max(1.0),
            l = esc(label),
            v = fmt_num(*v)
        ));
    }
    if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
        out.push_str(&format!(
            r#"<text x="{pad_l}" y="{h}" class="axis">{}</text><text x="{w}" y="{h}" text-anchor="end" class="axis">{}</text>"#,
            esc(first),
            esc(last)
        ));
    }
    out.push_str("</svg>");
    out
}

/// One line per series over shared x labels (the SQL result chart).
pub fn lines(title: &str, labels: &[String], series: &[(String, Vec<f64>)]) -> String {
    let (w, h, pad_b, pad_l) = (600.0, 200.0, 20.0, 40.0);
    let all: Vec<f64> = series.iter().flat_map(|s| s.1.iter().copied()).collect();
    let max = max_of(&all).max(1.0);
    let min = all
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::min);
    let span = (max - min).max(f64::MIN_POSITIVE);
    let n = labels.len().max(2) as f64 - 1.0;
    let mut out = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
    out.push_str(&format!(
        r#"<text x="0" y="12" class="axis">{}</text><text x="0" y="{}" class="axis">{}</text>"#,
        fmt_num(max),
        h - pad_b,
        fmt_num(min)
    ));
    for (si, (name, values)) in series.iter().enumerate() {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| {
                let x = pad_l + (w - pad_l - 4.0) * i as f64 / n;
                let y = (h - pad_b) - (h - pad_b - 8.0) * (v - min) / span;
                format!("{x:.1},{y:.1}")
            })
            .collect();
        out.push_str(&format!(
            r#"<polyline points="{}" class="line s{}" fill="none"><title>{}</title></polyline>"#,
            points.join(" "),
            si % 4,
            esc(name)
        ));
    }
    if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
        out.push_str(&format!(
            r#"<text x="{pad_l}" y="{h}" class="axis">{}</text><text x="{w}" y="{h}" text-anchor="end" class="axis">{}</text>"#,
            esc(first),
            esc(last)
        ));
    }
    out.push_str("</svg>");
    out
}

/// A small line without axes (usage metrics).
pub fn sparkline(title: &str, values: &[f64]) -> String {
    let (w, h) = (120.0, 28.0);
    let max = max_of(values).max(1.0);
    let n = values.len().max(2) as f64 - 1.0;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let v = if v.is_finite() { *v } else { 0.0 };
            format!(
                "{:.1},{:.1}",
                w * i as f64 / n,
                h - 2.0 - (h - 4.0) * v / max
            )
        })
        .collect();
    format!(
        r#"<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><polyline points="{p}" fill="none" class="line s0"/></svg>"#,
        t = esc(title),
        p = points.join(" ")
    )
}

/// A number without a needless fraction.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

/// A change from the previous period as a signed percentage (`+200%`, `-50%`, `0%`).
pub fn signed_pct(pct: f64) -> String {
    let r = pct.round();
    if r > 0.0 {
        format!("+{}%", r as i64)
    } else {
        format!("{}%", r as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_signed_percentages() {
        assert_eq!(signed_pct(200.0), "+200%");
        assert_eq!(signed_pct(-50.4), "-50%");
        assert_eq!(signed_pct(0.0), "0%");
        assert_eq!(signed_pct(33.333), "+33%");
    }

    #[test]
    fn charts_escape_their_labels() {
        let svg = bars("a<b", &["<x>".into()], &[1.0]);
        assert!(svg.contains("a&lt;b") && svg.contains("&lt;x&gt;") && !svg.contains("<x>"));
        let svg = lines(
            "t",
            &["d1".into(), "d2".into()],
            &[("n\"".into(), vec![1.0, 2.0])],
        );
        assert!(svg.contains("<polyline") && svg.contains("n&quot;"));
    }
}
