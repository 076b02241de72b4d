//! `secrets --validate-only FILE.sarif`: the secret findings of an earlier
//! run, read back from its SARIF (paths and fingerprints: a SARIF holds no
//! secret), so that the same files are scanned again and only those
//! findings validated: rotate a credential, then confirm it is dead.

use std::collections::BTreeSet;

/// The findings to re-check.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recheck {
    /// The SARIF file, for messages.
    pub source: String,
    /// Relative paths (forward slashes) of the files they were in.
    pub paths: BTreeSet<String>,
    /// Their `secgate/v1` fingerprints.
    pub fingerprints: BTreeSet<String>,
}

/// Reads the secrets run of a secgate SARIF file. `source` names it in errors.
pub fn parse(source: &str, text: &str) -> Result<Recheck, String> {
    let document: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "{source}: not JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        )
    })?;
    let runs = document["runs"]
        .as_array()
        .ok_or_else(|| format!("{source}: not a SARIF file (no `runs` array)"))?;
    let mut recheck = Recheck {
        source: source.to_string(),
        ..Recheck::default()
    };
    let mut secrets_runs = 0;
    for run in runs {
        let ours =
            run["tool"]["driver"]["name"] == "secgate" && run["properties"]["scanner"] == "secrets";
        if !ours {
            continue;
        }
        secrets_runs += 1;
        for (index, result) in run["results"].as_array().into_iter().flatten().enumerate() {
            let uri =
                result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str();
            let fingerprint = result["partialFingerprints"]["secgate/v1"].as_str();
            let (Some(uri), Some(fingerprint)) = (uri, fingerprint) else {
                return Err(format!(
                    "{source}: secrets result {index} has no location or secgate/v1 fingerprint"
                ));
            };
            let path = percent_encoding::percent_decode_str(uri)
                .decode_utf8()
                .map_err(|_| format!("{source}: secrets result {index}: its path is not UTF-8"))?;
            if path.starts_with('/') || path.split('/').any(|part| part == "..") {
                return Err(format!(
                    "{source}: secrets result {index}: `{path}` is not a path inside the repository"
                ));
            }
            recheck.paths.insert(path.into_owned());
            recheck.fingerprints.insert(fingerprint.to_string());
        }
    }
    if secrets_runs == 0 {
        return Err(format!(
            "{source}: holds no secgate secrets run (write it with `secgate secrets` or `secgate check`)"
        ));
    }
    Ok(recheck)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sarif(results: &str) -> String {
        format!(
            r#"{{"version":"2.1.0","runs":[{{"tool":{{"driver":{{"name":"secgate"}}}},"properties":{{"scanner":"advisories"}},"results":[{{"ruleId":"RUSTSEC-1"}}]}},{{"tool":{{"driver":{{"name":"secgate"}}}},"properties":{{"scanner":"secrets"}},"results":[{results}]}}]}}"#
        )
    }

    #[test]
    fn reads_the_secrets_runs_paths_and_fingerprints() {
        let text = sarif(
            r#"{"locations":[{"physicalLocation":{"artifactLocation":{"uri":"conf/my%20app.env"}}}],"partialFingerprints":{"secgate/v1":"abc"}}"#,
        );
        let recheck = parse("old.sarif", &text).unwrap();
        assert_eq!(
            recheck.paths.iter().collect::<Vec<_>>(),
            ["conf/my app.env"]
        );
        assert!(recheck.fingerprints.contains("abc"));
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        for (text, says) in [
            ("{", "not JSON (line 1"),
            ("{}", "no `runs` array"),
            (r#"{"runs":[]}"#, "no secgate secrets run"),
            (&sarif(r#"{"ruleId":"x"}"#), "no location"),
            (
                &sarif(
                    r#"{"locations":[{"physicalLocation":{"artifactLocation":{"uri":"../../etc/passwd"}}}],"partialFingerprints":{"secgate/v1":"a"}}"#,
                ),
                "not a path inside",
            ),
        ] {
            let error = parse("old.sarif", text).unwrap_err();
            assert!(
                error.starts_with("old.sarif: ") && error.contains(says),
                "{error}"
            );
        }
    }
}
