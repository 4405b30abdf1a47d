//! axe-core, injected into the page under test; serious and critical findings fail the test.
use serde_json::Value;

use crate::browser::Browser;
use crate::deps::deps;

const RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then(r => done(r.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => ({ target: n.target.join(' '), why: n.failureSummary })),
  }))))
  .catch(e => done({ error: String(e) }));
"#;

/// axe's findings page by page along a walk, asserted together at its end so that one run
/// reports every page that fails.
#[derive(Default)]
pub struct AxeReport {
    pages: Vec<(String, Vec<String>)>,
}

impl AxeReport {
    /// Runs axe on the page showing now, under the name `page`.
    pub async fn check(&mut self, b: &Browser, page: &str) {
        let found = serious_violations(b).await;
        self.pages.push((page.to_string(), found));
    }

    /// Fails with every page's serious and critical violations, if any.
    pub fn assert_clean(self) {
        assert!(!self.pages.is_empty(), "axe ran on no page");
        let failures: Vec<String> = self
            .pages
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(page, v)| format!("{page}:\n{}", v.join("\n")))
            .collect();
        assert!(
            failures.is_empty(),
            "axe-core found serious or critical violations:\n{}",
            failures.join("\n")
        );
    }
}

/// Runs axe on the current page and returns its serious and critical violations, printed.
pub async fn serious_violations(b: &Browser) -> Vec<String> {
    // Run inside WebDriver's script sandbox: no <script> element, nothing the CSP would block.
    b.client
        .execute(&deps().axe_source, vec![])
        .await
        .expect("inject axe-core");
    let result = b
        .client
        .execute_async(RUN, vec![])
        .await
        .expect("axe.run answers");
    if let Some(e) = result.get("error") {
        panic!("axe.run failed: {e}");
    }
    let Value::Array(violations) = result else {
        panic!("axe.run returned {result}");
    };
    violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            let nodes: Vec<String> = v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| {
                    format!(
                        "    at {}: {}",
                        n["target"].as_str().unwrap_or("?"),
                        n["why"].as_str().unwrap_or("").replace('\n', " ")
                    )
                })
                .collect();
            format!(
                "  [{}] {}: {}\n{}",
                v["impact"].as_str().unwrap_or("?"),
                v["id"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or(""),
                nodes.join("\n")
            )
        })
        .collect()
}
