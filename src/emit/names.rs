//! Generated names: every spec name (which may have capitals and any length) becomes a
//! valid name for its target — a Kubernetes DNS-1123 label, a bucket name, an IAM role
//! name — and two spec names that would become one generated name are an error, never a
//! silent overwrite.

use super::EmitError;
use std::collections::BTreeMap;

/// The names given out in one target, to catch clashes.
pub struct Names {
    target: &'static str,
    /// `(namespace of the name, generated)` -> the spec name that got it.
    given: BTreeMap<(String, String), String>,
    errors: Vec<EmitError>,
}

impl Names {
    pub fn new(target: &'static str) -> Names {
        Names {
            target,
            given: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    /// A DNS-1123 label (Kubernetes object names, label values): lowercase letters,
    /// digits and `-`, starting and ending alphanumeric, at most 63 characters.
    /// `scope` separates namespaces of names (`deployment`, `service`, ...); `spec_name`
    /// is what the error names.
    pub fn dns_label(&mut self, scope: &str, spec_name: &str, name: &str) -> String {
        let label = dns_label(name, 63);
        self.claim(scope, spec_name, label)
    }

    /// An S3 / GCS / Azure storage-friendly bucket name: lowercase letters, digits and
    /// `-`, 3 to `max` characters.
    pub fn bucket(&mut self, scope: &str, spec_name: &str, name: &str, max: usize) -> String {
        let mut bucket = dns_label(name, max);
        while bucket.len() < 3 {
            bucket.push('0');
        }
        self.claim(scope, spec_name, bucket)
    }

    /// An IAM-style name: letters, digits and `+=,.@_-`, at most `max` characters.
    pub fn iam(&mut self, scope: &str, spec_name: &str, name: &str, max: usize) -> String {
        let iam: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .take(max)
            .collect();
        self.claim(scope, spec_name, iam)
    }

    /// A CloudFormation logical ID: letters and digits only, at most 255 characters;
    /// `score_card` becomes `ScoreCard`.
    pub fn logical_id(&mut self, scope: &str, spec_name: &str, name: &str) -> String {
        let id = logical_id(name);
        self.claim(scope, spec_name, id)
    }

    fn claim(&mut self, scope: &str, spec_name: &str, generated: String) -> String {
        if generated.is_empty() {
            self.errors.push(EmitError::BadName {
                target: self.target,
                name: spec_name.to_string(),
                why:
                    "nothing is left of it after removing the characters the target does not allow"
                        .into(),
            });
            return generated;
        }
        let key = (scope.to_string(), generated.clone());
        match self.given.get(&key) {
            Some(first) if first != spec_name => self.errors.push(EmitError::NameClash {
                target: self.target,
                generated: generated.clone(),
                first: first.clone(),
                second: spec_name.to_string(),
            }),
            Some(_) => {}
            None => {
                self.given.insert(key, spec_name.to_string());
            }
        }
        generated
    }

    /// The clashes and bad names found so far; a target returns them as its error.
    pub fn into_errors(self) -> Vec<EmitError> {
        self.errors
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn take_errors(&mut self) -> Vec<EmitError> {
        std::mem::take(&mut self.errors)
    }
}

/// Lowercase, `_` and other characters to `-`, collapsed, trimmed to `max` and to an
/// alphanumeric first and last character.
pub fn dns_label(name: &str, max: usize) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(max).collect();
    trimmed.trim_end_matches('-').to_string()
}

/// CamelCase of the name's alphanumeric runs, at most 255 characters; a leading digit
/// gets an `F` before it (a logical ID starts with a letter by convention).
pub fn logical_id(name: &str) -> String {
    let mut out = String::new();
    for word in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'F');
    }
    out.chars().take(255).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_dns_1123() {
        assert_eq!(dns_label("Fraud_Model", 63), "fraud-model");
        assert_eq!(dns_label("__a__b__", 63), "a-b");
        assert_eq!(dns_label(&"x".repeat(100), 63).len(), 63);
        assert_eq!(dns_label("ab_cd", 3), "ab");
    }

    #[test]
    fn logical_ids_are_alphanumeric_camel_case() {
        assert_eq!(logical_id("score_authorisation"), "ScoreAuthorisation");
        assert_eq!(logical_id("f_active copy 2"), "FActiveCopy2");
        assert_eq!(logical_id("__"), "");
        assert_eq!(logical_id(&"a".repeat(300)).len(), 255);
        let mut names = Names::new("serverless");
        names.logical_id("aws", "score_card", "score_card");
        names.logical_id("aws", "scoreCard", "scoreCard");
        assert_eq!(names.into_errors().len(), 1);
    }

    #[test]
    fn two_names_that_become_one_are_an_error() {
        let mut names = Names::new("kubernetes");
        assert_eq!(names.dns_label("deployment", "Big", "Big"), "big");
        names.dns_label("deployment", "big", "big");
        let long_a = format!("{}a", "n".repeat(63));
        let long_b = format!("{}b", "n".repeat(63));
        names.dns_label("deployment", &long_a, &long_a);
        names.dns_label("deployment", &long_b, &long_b);
        // The same spec name asked for twice is no clash; another scope neither.
        names.dns_label("deployment", "Big", "Big");
        names.dns_label("service", "big", "big");
        let errors = names.into_errors();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            matches!(&errors[0], EmitError::NameClash { first, second, .. } if first == "Big" && second == "big")
        );
    }
}
