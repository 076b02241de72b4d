//! Secret rules as data: the built-in set in `config/secret-rules.toml`,
//! compiled once into regexes and one Aho-Corasick keyword prefilter.

use crate::error::PolicyError;
use crate::finding::Severity;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::Regex;
use serde::Deserialize;
use toml::Spanned;

pub const BUILTIN_RULES_TOML: &str = include_str!("../../../config/secret-rules.toml");
pub const BUILTIN_RULES_NAME: &str = "config/secret-rules.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

/// A rule as written, in the built-in file or in a policy's `[[secrets.rules]]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub keywords: Vec<String>,
    pub regex: String,
    pub min_entropy: Option<f64>,
    #[serde(default)]
    pub multiline: bool,
    /// Lower-case words; a value containing one is an example, not a leak.
    #[serde(default)]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
    /// Regexes over the file's relative path (`/`-separated): the rule only
    /// looks at files one of them matches. A credential file's rule may be
    /// loose (short values, no entropy) because the file says what it is.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Why a file these `paths` match holds credentials: said in findings.
    pub file_kind: Option<String>,
    /// The path the examples and negative examples are scanned as.
    pub example_path: Option<String>,
    /// A regex that, matching within `PUBLIC_CONTEXT_REACH` bytes of a
    /// value, shows it is public by design (a browser key in client SDK
    /// config): no finding.
    pub public_context: Option<String>,
}

#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub keywords: Vec<String>,
    pub regex: Regex,
    /// Index of the `secret` capture group.
    pub secret_group: usize,
    pub min_entropy: Option<f64>,
    pub multiline: bool,
    pub stopwords: Vec<Vec<u8>>,
    /// A context rule (`generic-*`) that yields to a specific rule matching
    /// the same text: one leak, one finding.
    pub generic: bool,
    pub references: Vec<String>,
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
    /// The files the rule applies to; `None`: every file.
    pub paths: Option<Regex>,
    pub file_kind: Option<String>,
    pub example_path: Option<String>,
    pub public_context: Option<Regex>,
}

impl Rule {
    /// A context rule whose values are passwords or URL credentials: they
    /// may be plain words, so the identifier filter does not apply.
    pub fn loose_values(&self) -> bool {
        self.id.contains("password")
            || self.id.contains("url-userinfo")
            || self.id.contains("kubernetes")
    }
}

/// The compiled rules and the keyword prefilter over all of them.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub prefilter: AhoCorasick,
    /// For each prefilter pattern, the rules that listed that keyword.
    pub rules_by_keyword: Vec<Vec<usize>>,
    /// The rules limited to some paths, and of those the ones without
    /// keywords (they read the whole of a matching file).
    pub path_rules: Vec<usize>,
    pub whole_file_rules: Vec<usize>,
}

impl RuleSet {
    pub fn builtin() -> Result<RuleSet, PolicyError> {
        RuleSet::from_toml(BUILTIN_RULES_NAME, BUILTIN_RULES_TOML)
    }

    pub fn from_toml(file: &str, source: &str) -> Result<RuleSet, PolicyError> {
        let rules = parse_rule_file(file, source)?;
        RuleSet::new(rules).map_err(|message| PolicyError::at(file, source, None, message))
    }

    /// The built-in rules with a policy's changes: `disabled` ids removed,
    /// `custom` rules added, a custom rule with a built-in id replacing it.
    pub fn customized(custom: &[RawRule], disabled: &[String]) -> Result<RuleSet, String> {
        let builtin =
            parse_rule_file(BUILTIN_RULES_NAME, BUILTIN_RULES_TOML).map_err(|e| e.to_string())?;
        let mut rules: Vec<Rule> = builtin
            .into_iter()
            .filter(|rule| {
                !disabled.contains(&rule.id) && !custom.iter().any(|c| c.id.trim() == rule.id)
            })
            .collect();
        for raw in custom {
            if !disabled.iter().any(|d| d == raw.id.trim()) {
                rules.push(compile(raw.clone())?);
            }
        }
        RuleSet::new(rules)
    }

    pub fn new(rules: Vec<Rule>) -> Result<RuleSet, String> {
        let mut keywords: Vec<String> = Vec::new();
        let mut rules_by_keyword: Vec<Vec<usize>> = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            for keyword in &rule.keywords {
                let keyword = keyword.to_ascii_lowercase();
                match keywords.iter().position(|k| *k == keyword) {
                    Some(position) => rules_by_keyword[position].push(index),
                    None => {
                        keywords.push(keyword);
                        rules_by_keyword.push(vec![index]);
                    }
                }
            }
        }
        // A full DFA: the prefilter reads every byte of every file, and a
        // DFA does that about twice as fast as the default NFA for a few
        // hundred case-insensitive keywords, for a few MB of memory.
        let prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .map_err(|e| format!("cannot build the keyword prefilter: {e}"))?;
        let path_rules = (0..rules.len())
            .filter(|&i| rules[i].paths.is_some())
            .collect();
        let whole_file_rules = (0..rules.len())
            .filter(|&i| rules[i].keywords.is_empty())
            .collect();
        Ok(RuleSet {
            rules,
            prefilter,
            rules_by_keyword,
            path_rules,
            whole_file_rules,
        })
    }
}

fn parse_rule_file(file: &str, source: &str) -> Result<Vec<Rule>, PolicyError> {
    let parsed: RuleFile = toml::from_str(source).map_err(|err| {
        PolicyError::at(
            file,
            source,
            err.span(),
            err.message().trim_end().to_string(),
        )
    })?;
    let mut rules: Vec<Rule> = Vec::with_capacity(parsed.rule.len());
    for spanned in parsed.rule {
        let span = spanned.span();
        let rule = compile(spanned.into_inner())
            .map_err(|message| PolicyError::at(file, source, Some(span.clone()), message))?;
        if rules.iter().any(|r| r.id == rule.id) {
            return Err(PolicyError::at(
                file,
                source,
                Some(span),
                format!("rule `{}` is defined twice", rule.id),
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// The ids of the built-in rules. Read once and without compiling the
/// regexes: every policy load asks, and compiling 291 rules took seconds
/// (found by the policy fuzz target, which ran at 0 executions per second).
pub fn builtin_rule_ids() -> &'static [String] {
    #[derive(Deserialize)]
    struct Ids {
        rule: Vec<Id>,
    }
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    static IDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    IDS.get_or_init(|| {
        toml::from_str::<Ids>(BUILTIN_RULES_TOML)
            .map(|file| file.rule.into_iter().map(|r| r.id).collect())
            .unwrap_or_default()
    })
}

/// Validates and compiles one rule.
pub fn compile(raw: RawRule) -> Result<Rule, String> {
    let id = raw.id.trim().to_string();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!(
            "rule id `{}` must be kebab-case (a-z, 0-9, -)",
            raw.id
        ));
    }
    if (raw.keywords.is_empty() && raw.paths.is_empty())
        || raw.keywords.iter().any(|k| k.trim().len() < 3)
    {
        return Err(format!(
            "rule `{id}`: needs keywords of at least 3 characters each (they drive the prefilter; only a rule with `paths` may go without)"
        ));
    }
    let paths = if raw.paths.is_empty() {
        None
    } else {
        let joined = raw
            .paths
            .iter()
            .map(|p| format!("(?:{p})"))
            .collect::<Vec<_>>()
            .join("|");
        Some(Regex::new(&joined).map_err(|e| format!("rule `{id}`: invalid paths regex: {e}"))?)
    };
    let regex = Regex::new(&raw.regex).map_err(|e| format!("rule `{id}`: invalid regex: {e}"))?;
    let secret_group = regex
        .capture_names()
        .position(|name| name == Some("secret"))
        .ok_or_else(|| format!("rule `{id}`: the regex needs a named group `secret`"))?;
    if let Some(entropy) = raw.min_entropy {
        if !(0.0..=8.0).contains(&entropy) {
            return Err(format!(
                "rule `{id}`: min-entropy must be between 0 and 8 bits per byte"
            ));
        }
    }
    let public_context = match &raw.public_context {
        Some(context) => Some(
            Regex::new(context)
                .map_err(|e| format!("rule `{id}`: invalid public-context regex: {e}"))?,
        ),
        None => None,
    };
    Ok(Rule {
        generic: id.starts_with("generic-"),
        id,
        title: raw.title,
        severity: raw.severity,
        keywords: raw.keywords,
        regex,
        secret_group,
        min_entropy: raw.min_entropy,
        multiline: raw.multiline,
        stopwords: raw
            .stopwords
            .iter()
            .map(|w| w.to_ascii_lowercase().into_bytes())
            .collect(),
        references: raw.references,
        examples: raw.examples,
        negative_examples: raw.negative_examples,
        public_context,
        paths,
        file_kind: raw.file_kind,
        example_path: raw.example_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rule_ids_match_the_compiled_rules() {
        let set = RuleSet::builtin().unwrap();
        let ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(builtin_rule_ids(), ids.as_slice());
    }

    #[test]
    fn builtin_rules_compile() {
        let set = RuleSet::builtin().unwrap();
        assert!(!set.rules.is_empty());
    }

    #[test]
    fn invalid_regex_names_file_line_and_rule() {
        let text = "[[rule]]\nid = \"ok\"\ntitle = \"t\"\nseverity = \"high\"\nkeywords = [\"abc\"]\nregex = '(?P<secret>abc)'\n\n[[rule]]\nid = \"broken\"\ntitle = \"t\"\nseverity = \"high\"\nkeywords = [\"abc\"]\nregex = '(?P<secret>abc'\n";
        let err = RuleSet::from_toml("rules.toml", text).unwrap_err();
        assert_eq!(err.line, 8, "{err}");
        assert!(
            err.message.contains("broken") && err.message.contains("invalid regex"),
            "{err}"
        );
    }

    #[test]
    fn rule_without_secret_group_is_rejected() {
        let text = "[[rule]]\nid = \"x\"\ntitle = \"t\"\nseverity = \"high\"\nkeywords = [\"abc\"]\nregex = 'abc'\n";
        let err = RuleSet::from_toml("rules.toml", text).unwrap_err();
        assert!(err.message.contains("secret"), "{err}");
    }
}
