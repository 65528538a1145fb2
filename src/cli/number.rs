//! One number format for everything cqgrav prints (`inspect`, the run's summary lines, plot tick labels): C's
//! `%.Ng` — N significant digits, fixed notation for 1e-4 ≤ |x| < 10^N, otherwise `d.ddde±XX` — with trailing
//! zeros removed, so 1.478426, 0.2037798 and 2.220446e-16 are written alike.

/// `x` with `sig` significant digits (`%.{sig}g`).
pub fn g(x: f64, sig: usize) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return "0".into();
    }
    let sig = sig.max(1);
    // the exponent after rounding to `sig` digits (9.9999995 → 1.000000e1)
    let e: i32 = format!("{:.*e}", sig - 1, x).split_once('e').and_then(|(_, e)| e.parse().ok()).unwrap_or(0);
    if (-4..sig as i32).contains(&e) {
        let decimals = (sig as i32 - 1 - e).max(0) as usize;
        trim_zeros(&format!("{x:.decimals$}"))
    } else {
        let s = format!("{:.*e}", sig - 1, x);
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        format!("{}e{}{:02}", trim_zeros(m), if e < 0 { '-' } else { '+' }, e.abs())
    }
}

/// The default precision: 7 significant digits (single-precision round-off shows as a change in the last one).
pub fn num(x: f64) -> String {
    g(x, 7)
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_style_general_format() {
        // the values the issue quotes, and what C's printf("%.7g") prints for them
        assert_eq!(num(2.0377984742034652e-1), "0.2037798");
        assert_eq!(num(1.4784259234768693), "1.478426");
        assert_eq!(num(2.220446049250313e-16), "2.220446e-16");
        assert_eq!(num(1.0), "1");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-0.05), "-0.05");
        assert_eq!(num(1234567.0), "1234567");
        assert_eq!(num(12345678.0), "1.234568e+07");
        assert_eq!(num(9.99999996), "10");
        assert_eq!(num(1e-4), "0.0001");
        assert_eq!(num(9.9e-5), "9.9e-05");
        assert_eq!(g(0.28867513459481287, 4), "0.2887");
        assert_eq!(num(f64::NAN), "nan");
    }
}
