//! Durations as the policy writes them (`90s`, `12h`, `7d`) and as the
//! summaries show them.

/// Parses a duration written as a number and a unit: `90s`, `30m`, `12h`,
/// `1d`, `2w`. `None` for anything else.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    number
        .checked_mul(seconds)
        .map(std::time::Duration::from_secs)
}

/// A duration in its largest whole unit, rounded down: `3d`, `5h`, `42s`.
pub fn format_duration(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if seconds >= size {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_a_unit() {
        use std::time::Duration;
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("12h"), Some(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("2w"), Some(Duration::from_secs(14 * 86_400)));
        for bad in [
            "",
            "7",
            "d",
            "7 days",
            "-1d",
            "1.5d",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(7 * 86_400)), "7d");
        assert_eq!(format_duration(Duration::from_secs(10 * 86_400)), "10d");
        assert_eq!(format_duration(Duration::from_secs(5 * 3600 + 7)), "5h");
        assert_eq!(format_duration(Duration::from_secs(42)), "42s");
    }
}
