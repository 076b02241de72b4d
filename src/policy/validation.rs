//! `[secrets.validation]` checked into what the secrets scanner is told
//! (whether and where to ask providers) and what the gate grades by.

use crate::config::RawValidation;
use crate::error::PolicyError;
use crate::gate::ValidationGrades;
use crate::scan::secrets::validation::validators;
use crate::scan::settings::ValidationSettings;

pub fn check(
    file: &str,
    source: &str,
    raw: RawValidation,
) -> Result<(ValidationSettings, ValidationGrades), PolicyError> {
    let defaults = ValidationSettings::default();
    let grade_defaults = ValidationGrades::default();
    let at = |span, message: String| PolicyError::at(file, source, Some(span), message);
    let timeout = match raw.timeout {
        None => defaults.timeout,
        Some(text) => crate::duration::parse_duration(text.get_ref())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                at(
                    text.span(),
                    format!(
                        "secrets.validation.timeout: expected a duration like \"10s\", not `{}`",
                        text.get_ref()
                    ),
                )
            })?,
    };
    let positive = |key: &str, value: Option<toml::Spanned<u64>>, default: u64, most: u64| {
        let Some(value) = value else {
            return Ok(default);
        };
        let n = *value.get_ref();
        if n == 0 || n > most {
            return Err(at(
                value.span(),
                format!("secrets.validation.{key}: expected 1 to {most}, not {n}"),
            ));
        }
        Ok(n)
    };
    let concurrency = positive(
        "concurrency",
        raw.concurrency,
        defaults.concurrency as u64,
        64,
    )?;
    let per_host = positive(
        "per-host-rate",
        raw.per_host_rate,
        u64::from(defaults.per_host_per_second),
        100,
    )?;
    let known = validators::providers();
    let mut endpoints = std::collections::BTreeMap::new();
    for (provider, url) in raw.endpoints {
        if !known.contains(&provider.as_str()) {
            return Err(at(
                url.span(),
                format!(
                    "secrets.validation.endpoints: no validator for `{provider}` (validators: {})",
                    known.join(", ")
                ),
            ));
        }
        let parsed = validators::parse_endpoint(url.get_ref()).map_err(|e| {
            at(
                url.span(),
                format!("secrets.validation.endpoints.{provider}: {e}"),
            )
        })?;
        if parsed.scheme() != "https" && !validators::is_loopback(&parsed) {
            return Err(at(
                url.span(),
                format!(
                    "secrets.validation.endpoints.{provider}: a credential is only sent over https (plain http only to this machine, for tests)"
                ),
            ));
        }
        endpoints.insert(provider, url.into_inner());
    }
    let settings = ValidationSettings {
        enabled: raw.enabled.unwrap_or(defaults.enabled),
        endpoints,
        timeout,
        concurrency: concurrency as usize,
        per_host_per_second: per_host as u32,
    };
    let grades = ValidationGrades {
        valid: raw.valid.map_or(grade_defaults.valid, |g| g.0),
        invalid: raw.invalid.map_or(grade_defaults.invalid, |g| g.0),
        unknown: raw.unknown.map_or(grade_defaults.unknown, |g| g.0),
    };
    Ok((settings, grades))
}

#[cfg(test)]
mod tests {
    use crate::finding::Severity;
    use crate::policy::Policy;

    #[test]
    fn defaults_grade_live_critical_and_revoked_low() {
        let policy = Policy::builtin();
        assert!(!policy.scan.secrets.validation.enabled);
        assert_eq!(policy.gate.validation.valid, Some(Severity::Critical));
        assert_eq!(policy.gate.validation.invalid, Some(Severity::Low));
        assert_eq!(policy.gate.validation.unknown, None);
    }

    #[test]
    fn the_table_is_read_and_checked() {
        let policy = Policy::from_toml(
            "p.toml",
            "[secrets.validation]\nenabled = true\ninvalid = \"info\"\nunknown = \"high\"\nvalid = \"keep\"\ntimeout = \"3s\"\nconcurrency = 2\nper-host-rate = 1\n[secrets.validation.endpoints]\ngithub = \"https://ghe.example.com/api/v3\"\ngitlab = \"http://127.0.0.1:8080\"\n",
        )
        .unwrap();
        let settings = &policy.scan.secrets.validation;
        assert!(settings.enabled);
        assert_eq!(settings.timeout.as_secs(), 3);
        assert_eq!((settings.concurrency, settings.per_host_per_second), (2, 1));
        assert_eq!(
            settings.endpoints["github"],
            "https://ghe.example.com/api/v3"
        );
        assert_eq!(policy.gate.validation.valid, None);
        assert_eq!(policy.gate.validation.unknown, Some(Severity::High));

        for (bad, says) in [
            (
                "[secrets.validation.endpoints]\ngithb = \"https://x.example\"\n",
                "no validator for `githb`",
            ),
            (
                "[secrets.validation.endpoints]\ngithub = \"http://ghe.example.com\"\n",
                "only sent over https",
            ),
            (
                "[secrets.validation]\nconcurrency = 0\n",
                "expected 1 to 64",
            ),
            (
                "[secrets.validation]\ntimeout = \"soon\"\n",
                "validation.timeout",
            ),
            (
                "[secrets.validation]\nvalid = \"severe\"\n",
                "unknown grade",
            ),
            ("[secrets.validation]\nenable = true\n", "enable"),
        ] {
            let error = Policy::from_toml("p.toml", bad).unwrap_err().to_string();
            assert!(error.contains(says), "{bad}: {error}");
            assert!(error.contains("p.toml"), "{error}");
        }
    }
}
