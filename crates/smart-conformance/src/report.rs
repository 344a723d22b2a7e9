//! How each flow ended, and the whole run as a table or a JSON document.

use std::fmt::Write as _;

use serde_json::{Value, json};
use smart_client::core::escape_text;

/// A rule of the specifications the server broke, and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule, with where it is written (for example `RFC 6749 §4.1.2: a code is used once`).
    pub rule: String,
    /// What the server did instead.
    pub observed: String,
}

impl Finding {
    /// A finding: `rule` broken, `observed` what the server did.
    pub fn new(rule: impl Into<String>, observed: impl Into<String>) -> Self {
        Self {
            rule: rule.into(),
            observed: observed.into(),
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (observed: {})", self.rule, self.observed)
    }
}

/// How one flow ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The client did the flow and every check held.
    Passed,
    /// The client did wrong, or could not do the flow: the reason.
    Failed(String),
    /// Not run: the reason (no such client configured, no endpoint advertised, ...).
    Skipped(String),
    /// The client did its part; the server broke one or more rules. Not a client failure.
    ServerFinding(Vec<Finding>),
}

impl Outcome {
    /// The short name used in the table and the JSON document.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Passed => "pass",
            Self::Failed(_) => "fail",
            Self::Skipped(_) => "skip",
            Self::ServerFinding(_) => "server finding",
        }
    }

    /// The reason or the findings, as one line (empty for a pass).
    pub fn detail(&self) -> String {
        match self {
            Self::Passed => String::new(),
            Self::Failed(reason) | Self::Skipped(reason) => reason.clone(),
            Self::ServerFinding(findings) => findings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

/// Why a step did not pass: the client failed, or the server broke rules.
#[derive(Debug)]
pub(crate) enum Problem {
    Fail(String),
    Findings(Vec<Finding>),
}

impl From<String> for Problem {
    fn from(reason: String) -> Self {
        Self::Fail(reason)
    }
}

impl From<&str> for Problem {
    fn from(reason: &str) -> Self {
        Self::Fail(reason.to_owned())
    }
}

/// `Err(fail!("..."))`: a client failure with a formatted reason.
macro_rules! fail {
    ($($arg:tt)*) => {
        $crate::report::Problem::Fail(format!($($arg)*))
    };
}
pub(crate) use fail;

/// What a step returns: `Ok` when it passed.
pub(crate) type StepResult = Result<(), Problem>;

/// Ends a step that gathered findings along the way: a pass when there were none.
pub(crate) fn finish(findings: Vec<Finding>) -> StepResult {
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Problem::Findings(findings))
    }
}

/// The results of a run, in the order the flows ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Each flow's name and outcome.
    pub steps: Vec<(String, Outcome)>,
}

impl Report {
    fn count(&self, label: &str) -> usize {
        self.steps
            .iter()
            .filter(|(_, o)| o.label() == label)
            .count()
    }

    /// How many flows passed.
    pub fn passed(&self) -> usize {
        self.count("pass")
    }

    /// How many flows failed (client failures only).
    pub fn failed(&self) -> usize {
        self.count("fail")
    }

    /// How many flows were skipped.
    pub fn skipped(&self) -> usize {
        self.count("skip")
    }

    /// How many flows ended with a server finding.
    pub fn server_findings(&self) -> usize {
        self.count("server finding")
    }

    /// Adds the steps of another run, each name prefixed with `prefix` (for example a client
    /// type), so several runs make one table.
    pub fn extend_prefixed(&mut self, prefix: &str, other: Report) {
        for (name, outcome) in other.steps {
            self.steps.push((format!("{prefix}{name}"), outcome));
        }
    }

    /// The one-line summary: counts of each outcome.
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped, {} with server findings, of {} flows",
            self.passed(),
            self.failed(),
            self.skipped(),
            self.server_findings(),
            self.steps.len()
        )
    }

    /// A Markdown table: flow, result, detail (terminal-safe: control characters escaped).
    pub fn table(&self) -> String {
        let mut text = String::from("| flow | result | detail |\n|---|---|---|\n");
        for (name, outcome) in &self.steps {
            let result = match outcome {
                Outcome::Failed(_) => "FAIL",
                other => other.label(),
            };
            let detail = outcome.detail().replace('|', "\\|").replace('\n', " ");
            let _ = writeln!(
                text,
                "| {} | {result} | {} |",
                escape_text(name),
                escape_text(&detail)
            );
        }
        text
    }

    /// The run as JSON: counts and one object per flow.
    pub fn to_json(&self) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|(name, outcome)| {
                let mut step = json!({"flow": name, "result": outcome.label()});
                match outcome {
                    Outcome::Passed => {}
                    Outcome::Failed(reason) | Outcome::Skipped(reason) => {
                        step["detail"] = json!(reason);
                    }
                    Outcome::ServerFinding(findings) => {
                        step["findings"] = findings
                            .iter()
                            .map(|f| json!({"rule": f.rule, "observed": f.observed}))
                            .collect();
                    }
                }
                step
            })
            .collect();
        json!({
            "passed": self.passed(),
            "failed": self.failed(),
            "skipped": self.skipped(),
            "server_findings": self.server_findings(),
            "steps": steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            steps: vec![
                ("a".into(), Outcome::Passed),
                ("b".into(), Outcome::Failed("broke | here".into())),
                ("c".into(), Outcome::Skipped("no client".into())),
                (
                    "d".into(),
                    Outcome::ServerFinding(vec![Finding::new("rule 1", "did x")]),
                ),
            ],
        }
    }

    #[test]
    fn counts_keep_findings_apart_from_failures() {
        let report = sample();
        assert_eq!(
            (
                report.passed(),
                report.failed(),
                report.skipped(),
                report.server_findings()
            ),
            (1, 1, 1, 1)
        );
    }

    #[test]
    fn table_and_json_carry_every_outcome() {
        let report = sample();
        let table = report.table();
        assert!(table.contains("| b | FAIL | broke \\| here |"), "{table}");
        assert!(
            table.contains("| d | server finding | rule 1 (observed: did x) |"),
            "{table}"
        );
        let json = report.to_json();
        assert_eq!(json["steps"][3]["findings"][0]["rule"], "rule 1");
        assert_eq!(json["server_findings"], 1);
        assert_eq!(json["steps"][2]["detail"], "no client");
    }
}
